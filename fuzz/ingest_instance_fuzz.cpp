// Fuzzes ingest::parseInstance, which every DICOM object reaches from the
// network (C-STORE) or an imported file before anything else looks at it.
//
// Each input is parsed twice:
//   1. as it is, a whole Part 10 object (preamble, DICM, File Meta, dataset);
//   2. as a dataset behind a File Meta group made here, in the transfer syntax
//      picked by the first byte, so that mutations reach the dataset parser
//      (the walk and DCMTK) without first having to keep 132 bytes intact.
//
// A rejection must carry a detail; an acceptance must hold four valid UIDs,
// a valid transfer syntax UID, the right size and hash, and text that is
// valid UTF-8 without control characters and within the length limit.
// Anything else traps; sanitizer reports and escaping exceptions are crashes.

#include <dcmtk/config/osconfig.h>
#include <dcmtk/oflog/oflog.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "sealport/core/crypto.hpp"
#include "sealport/ingest/instance.hpp"

namespace {

namespace ingest = sealport::ingest;

// Larger than any input libFuzzer makes here, small enough that a deflated
// dataset inflating past it (a zip bomb) is refused.
constexpr std::size_t kMaxBytes = 1u << 20;

void require(bool condition) {
    if (!condition) __builtin_trap();
}

bool isValidUtf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        if (c <= 0x7F) n = 1;
        else if (c >= 0xC2 && c <= 0xDF) n = 2;
        else if (c >= 0xE0 && c <= 0xEF) n = 3;
        else if (c >= 0xF0 && c <= 0xF4) n = 4;
        else return false;
        if (s.size() - i < n) return false;
        for (std::size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        const auto c1 = n > 1 ? static_cast<unsigned char>(s[i + 1]) : 0;
        if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) ||
            (c == 0xF4 && c1 > 0x8F))
            return false;
        i += n;
    }
    return true;
}

void checkText(const std::string& t) {
    require(t.size() <= ingest::kMaxTextBytes);
    require(isValidUtf8(t));
    for (std::size_t i = 0; i < t.size(); ++i) {
        const auto c = static_cast<unsigned char>(t[i]);
        require(c >= 0x20 && c != 0x7F);
        if (c == 0xC2 && i + 1 < t.size()) require(static_cast<unsigned char>(t[i + 1]) > 0x9F);
    }
}

void check(std::span<const std::uint8_t> input) {
    const auto result = ingest::parseInstance(input, kMaxBytes);
    const bool hasPrefix = input.size() >= 132 && std::memcmp(input.data() + 128, "DICM", 4) == 0;

    if (const auto* r = std::get_if<ingest::Rejection>(&result)) {
        require(!r->detail.empty());
        require(!ingest::toString(r->reason).empty());
        require((r->reason == ingest::RejectReason::not_dicom) == !hasPrefix);
        return;
    }
    const auto& f = std::get<ingest::InstanceFields>(result);
    require(hasPrefix);
    for (const std::string* uid :
         {&f.studyUid, &f.seriesUid, &f.sopClassUid, &f.sopInstanceUid, &f.transferSyntaxUid}) {
        require(!uid->empty());
        require(ingest::isValidUid(*uid));
    }
    require(f.sopClassUid != "1.2.840.10008.1.3.10");  // a DICOMDIR is never an instance
    require(f.size == input.size());
    require(f.sha256 == sealport::core::sha256(input));
    for (const std::string* t :
         {&f.patientId, &f.patientName, &f.birthDate, &f.sex, &f.studyDate, &f.studyTime,
          &f.studyDescription, &f.accessionNumber, &f.referringPhysician, &f.modality,
          &f.seriesDescription})
        checkText(*t);
}

// Transfer syntaxes the harness puts in front of a bare dataset.
constexpr std::array<std::string_view, 8> kTransferSyntaxes = {
    "1.2.840.10008.1.2",       "1.2.840.10008.1.2.1",    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",  "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.5",
    "1.2.840.10008.1.2.4.50",  "1.2.840.10008.1.2.4.80"};

void putUi(std::vector<std::uint8_t>& b, std::uint16_t element, std::string_view v) {
    const std::size_t padded = v.size() + (v.size() & 1);
    const std::uint8_t header[] = {0x02, 0x00, static_cast<std::uint8_t>(element), 0x00, 'U', 'I',
                                   static_cast<std::uint8_t>(padded),
                                   static_cast<std::uint8_t>(padded >> 8)};
    b.insert(b.end(), std::begin(header), std::end(header));
    b.insert(b.end(), v.begin(), v.end());
    if (v.size() & 1) b.push_back(0);
}

// A Part 10 object around `dataset`. The SOP UIDs are the ones the seeds'
// datasets use, so that a mutated seed can still be accepted.
std::vector<std::uint8_t> wrap(std::string_view ts, std::span<const std::uint8_t> dataset) {
    std::vector<std::uint8_t> b(128, 0);
    b.insert(b.end(), {'D', 'I', 'C', 'M'});
    putUi(b, 0x0002, "1.2.840.10008.5.1.4.1.1.7");
    putUi(b, 0x0003, "1.2.3.4.5");
    putUi(b, 0x0010, ts);
    b.insert(b.end(), dataset.begin(), dataset.end());
    return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // DCMTK logs every parse error to stderr; a fuzzer makes millions.
    static const bool quiet = [] {
        OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
        return true;
    }();
    (void)quiet;

    const std::span<const std::uint8_t> input(data, size);
    check(input);
    if (size > 0) {
        const std::string_view ts = kTransferSyntaxes[data[0] % kTransferSyntaxes.size()];
        check(wrap(ts, input.subspan(1)));
    }
    return 0;
}
