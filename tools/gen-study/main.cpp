// sealport-gen-study: writes a synthetic DICOM study and prints its manifest.

#include <iostream>
#include <string_view>
#include <vector>

#include "sealport/synthstudy/generator.hpp"
#include "sealport/synthstudy/spec.hpp"

namespace {

constexpr int kExitUsage = 64;  // EX_USAGE
constexpr int kExitFailure = 1;

}  // namespace

int main(int argc, char** argv) {
    using namespace sealport::synthstudy;
    try {
        const std::vector<std::string_view> args(argv + 1, argv + argc);
        const Command cmd = parseCommandLine(args);
        if (cmd.help) {
            std::cout << usageText();
            return 0;
        }
        const nlohmann::json manifest = generateStudy(cmd.spec, std::cerr);
        std::cout << manifest.dump(2) << '\n' << std::flush;
        return std::cout ? 0 : kExitFailure;
    } catch (const UsageError& e) {
        std::cerr << "sealport-gen-study: " << e.what() << '\n';
        return kExitUsage;
    } catch (const std::exception& e) {
        std::cerr << "sealport-gen-study: " << e.what() << '\n';
        return kExitFailure;
    } catch (...) {
        std::cerr << "sealport-gen-study: unexpected error\n";
        return kExitFailure;
    }
}
