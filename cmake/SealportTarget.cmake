# One place sets warnings and hardening for every target of the project.
option(SEALPORT_WERROR "Treat warnings as errors (on in CI)" OFF)

function(sealport_target_setup target)
    target_compile_features(${target} PUBLIC cxx_std_20)
    target_compile_options(${target} PRIVATE
        -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
        -Wformat=2 -Werror=vla -Wnon-virtual-dtor -Wold-style-cast
        -fstack-protector-strong -fPIE)
    # Boost 1.74 Asio with C++20 uses std::exchange without including <utility>.
    target_compile_options(${target} PRIVATE -include utility)
    if(SEALPORT_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
    if(NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
        target_compile_definitions(${target} PRIVATE _FORTIFY_SOURCE=2)
    endif()
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "EXECUTABLE")
        set_target_properties(${target} PROPERTIES
            POSITION_INDEPENDENT_CODE ON
            RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
        target_link_options(${target} PRIVATE -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack)
    else()
        set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
    endif()
endfunction()
