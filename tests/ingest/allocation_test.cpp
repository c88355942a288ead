// Measures what parseInstance allocates, by replacing the global operator new
// of this test binary (counting only on the thread that asks, while it asks).

#include <cstdlib>
#include <new>

#include "ingest_test_support.hpp"

namespace {

thread_local bool tCounting = false;
thread_local std::size_t tAllocated = 0;
thread_local std::size_t tLargest = 0;

void* allocate(std::size_t n) {
    if (tCounting) {
        tAllocated += n;
        if (n > tLargest) tLargest = n;
    }
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}

struct Allocations {
    std::size_t total = 0;
    std::size_t largest = 0;
};

template <class F>
Allocations countAllocations(F&& f) {
    tAllocated = tLargest = 0;
    tCounting = true;
    f();
    tCounting = false;
    return {tAllocated, tLargest};
}

}  // namespace

// Every form that pairs with the deletes below, so that no allocator (a
// sanitizer's, say) frees what another allocated.
void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return allocate(n);
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

using namespace sealport::ingest;
using namespace sealport::ingest::test;

// DCMTK keeps values over 4 KiB where they lie (in the caller's buffer) and
// reads them only on demand, which nothing does here: pixel data is never copied.
TEST_CASE("parsing a 512x512 CT does not copy its pixel data", "[memory]") {
    ObjectSpec spec;
    spec.rows = spec.columns = 512;
    const E_TransferSyntax xfer = GENERATE(EXS_LittleEndianExplicit, EXS_LittleEndianImplicit,
                                           EXS_BigEndianExplicit, EXS_JPEG2000LosslessOnly);
    if (DcmXfer(xfer).isEncapsulated()) {
        spec.rows = spec.columns = 724;  // a fragment of about 512 KiB
    }
    const Bytes b = makePart10(spec, xfer);
    REQUIRE(b.size() > 500'000);
    const Allocations a = countAllocations([&] { accepted(parse(b)); });
    CAPTURE(b.size(), a.total, a.largest);
    CHECK(a.largest <= 8192);  // DCMTK copies values up to 4 KiB; nothing pixel-sized
    CHECK(a.total < b.size() / 4);
}

// The counter does see large copies: a deflated dataset cannot be read in
// place, so DCMTK holds it inflated (bounded by maxBytes).
TEST_CASE("a deflated CT is held inflated while it is parsed", "[memory]") {
    ObjectSpec spec;
    spec.rows = spec.columns = 512;
    const Bytes b = makePart10(spec, EXS_DeflatedLittleEndianExplicit);
    const Allocations a = countAllocations([&] { accepted(parse(b)); });
    CAPTURE(b.size(), a.total, a.largest);
    CHECK(a.largest >= 512u * 512u * 2u);
}
