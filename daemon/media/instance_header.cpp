#include "instance_header.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <optional>
#include <variant>
#include <vector>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wpedantic"
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcerror.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcistrma.h>
#include <dcmtk/dcmdata/dctagkey.h>
#pragma GCC diagnostic pop

#include "sealport/media/fileset.hpp"
#include "sealport/state/blob_store.hpp"

namespace sealport::media::detail {
namespace {

// Bytes kept behind the read position so DCMTK can put back what it read since
// its last mark (a tag header, or the 132-byte preamble check).
constexpr std::size_t kPutbackHistory = 4096;

std::string_view kindName(state::BlobFailure::Kind kind) {
    switch (kind) {
        case state::BlobFailure::Kind::no_space:
            return "no space";
        case state::BlobFailure::Kind::io:
            return "I/O error";
        case state::BlobFailure::Kind::corrupt:
            return "corrupt";
        case state::BlobFailure::Kind::not_found:
            return "missing";
        case state::BlobFailure::Kind::invalid:
            return "invalid";
    }
    return "failed";
}

// DCMTK's byte source over a BlobReader: it decrypts as DCMTK asks, one
// authenticated chunk at a time, and behaves like a file (avail() is what is
// left of the object, read() blocks until it has what was asked for).
class BlobProducer final : public DcmProducer {
  public:
    explicit BlobProducer(state::BlobReader& reader) : reader_(reader) {}

    OFBool good() const override { return status_.good(); }
    OFCondition status() const override { return status_; }

    OFBool eos() override {
        if (status_.bad())
            return OFTrue;
        return pos_ == buf_.size() && (atEnd_ || reader_.position() >= reader_.size());
    }

    offile_off_t avail() override {
        if (status_.bad())
            return 0;
        const std::uint64_t left = (buf_.size() - pos_) + (reader_.size() - reader_.position());
        return static_cast<offile_off_t>(left);
    }

    offile_off_t read(void* buf, offile_off_t buflen) override {
        return transfer(static_cast<std::uint8_t*>(buf), buflen);
    }
    offile_off_t skip(offile_off_t skiplen) override { return transfer(nullptr, skiplen); }

    void putback(offile_off_t num) override {
        if (num <= 0 || status_.bad())
            return;
        if (static_cast<std::uint64_t>(num) > pos_) {
            status_ = EC_PutbackFailed;
            return;
        }
        pos_ -= static_cast<std::size_t>(num);
    }

    [[nodiscard]] const std::optional<state::BlobFailure>& failure() const noexcept {
        return failure_;
    }

  private:
    // Copies (or, with out == nullptr, skips) up to `len` bytes.
    offile_off_t transfer(std::uint8_t* out, offile_off_t len) {
        if (len <= 0 || status_.bad())
            return 0;
        std::uint64_t want = static_cast<std::uint64_t>(len);
        std::uint64_t done = 0;
        try {
            while (done < want) {
                if (pos_ == buf_.size() && !fill())
                    break;
                const std::size_t n = static_cast<std::size_t>(
                    std::min<std::uint64_t>(want - done, buf_.size() - pos_));
                if (out != nullptr)
                    std::memcpy(out + done, buf_.data() + pos_, n);
                pos_ += n;
                done += n;
            }
        } catch (const std::exception&) {  // no exception may cross DCMTK's frames
            status_ = EC_MemoryExhausted;
        }
        return static_cast<offile_off_t>(done);
    }

    // Decrypts the next chunk behind the last kPutbackHistory bytes.
    bool fill() {
        if (atEnd_ || status_.bad())
            return false;
        const std::size_t keep = std::min(pos_, kPutbackHistory);
        if (keep > 0)
            std::memmove(buf_.data(), buf_.data() + (pos_ - keep), keep);
        buf_.resize(keep + state::kBlobChunkSize);
        pos_ = keep;
        auto got = reader_.read(std::span<std::uint8_t>(buf_.data() + keep, state::kBlobChunkSize));
        if (auto* f = std::get_if<state::BlobFailure>(&got)) {
            failure_ = *f;
            buf_.resize(keep);
            status_ = EC_InvalidStream;
            return false;
        }
        const std::size_t n = std::get<std::size_t>(got);
        buf_.resize(keep + n);
        if (n == 0)
            atEnd_ = true;
        return n > 0;
    }

    state::BlobReader& reader_;
    std::vector<std::uint8_t> buf_;
    std::size_t pos_ = 0;
    bool atEnd_ = false;
    OFCondition status_ = EC_Normal;
    std::optional<state::BlobFailure> failure_;
};

// What a value that was skipped would be read from if anything asked for it:
// nothing here does, and if something did it would fail rather than read
// bytes from the wrong place.
class NoValueProducer final : public DcmProducer {
  public:
    OFBool good() const override { return OFFalse; }
    OFCondition status() const override { return EC_InvalidStream; }
    OFBool eos() override { return OFTrue; }
    offile_off_t avail() override { return 0; }
    offile_off_t read(void*, offile_off_t) override { return 0; }
    offile_off_t skip(offile_off_t) override { return 0; }
    void putback(offile_off_t) override {}
};

struct NoValueProducerHolder {
    NoValueProducer producer;
};

class NoValueStream final : private NoValueProducerHolder, public DcmInputStream {
  public:
    NoValueStream() : DcmInputStream(&producer) {}
    DcmInputStreamFactory* newFactory() const override { return nullptr; }
};

// Its existence tells DCMTK it may skip a long value instead of keeping it.
class SkippedValueFactory final : public DcmInputStreamFactory {
  public:
    DcmInputStream* create() const override { return new NoValueStream(); }
    DcmInputStreamFactory* clone() const override { return new SkippedValueFactory(); }
    DcmInputStreamFactoryType ident() const override { return DFT_DcmInputFileStreamFactory; }
};

// Constructed before DcmInputStream, which keeps a pointer to the producer.
struct BlobProducerHolder {
    explicit BlobProducerHolder(state::BlobReader& reader) : producer(reader) {}
    BlobProducer producer;
};

// Counts the bytes DCMTK keeps (read, as opposed to skipped) and stops
// feeding it past the limit.
class HeaderStream final : private BlobProducerHolder, public DcmInputStream {
  public:
    HeaderStream(state::BlobReader& reader, std::size_t keptLimit)
        : BlobProducerHolder(reader), DcmInputStream(&producer), limit_(keptLimit) {}

    offile_off_t read(void* buf, offile_off_t buflen) override {
        if (buflen <= 0)
            return 0;
        const auto want = static_cast<std::size_t>(buflen);
        offile_off_t got = 0;
        if (kept_ + want > limit_) {
            overLimit_ = true;
        } else {
            got = DcmInputStream::read(buf, buflen);
            kept_ += static_cast<std::size_t>(got);
        }
        // DCMTK does not always look at the count for fixed-size reads (tag,
        // length): never leave it stale memory to parse.
        if (static_cast<std::size_t>(got) < want)
            std::memset(static_cast<std::uint8_t*>(buf) + got, 0,
                        want - static_cast<std::size_t>(got));
        return got;
    }

    OFBool eos() override { return overLimit_ ? OFTrue : DcmInputStream::eos(); }
    offile_off_t avail() override { return overLimit_ ? 0 : DcmInputStream::avail(); }

    DcmInputStreamFactory* newFactory() const override { return new SkippedValueFactory(); }

    [[nodiscard]] bool overLimit() const noexcept { return overLimit_; }
    [[nodiscard]] const std::optional<state::BlobFailure>& failure() const noexcept {
        return producer.failure();
    }

  private:
    std::size_t limit_;
    std::size_t kept_ = 0;
    bool overLimit_ = false;
};

const DcmTagKey kStopAt(0x4000, 0x0000);

}  // namespace

std::unique_ptr<DcmFileFormat> readInstanceHeader(const state::BlobStore& blobs,
                                                  const std::string& blobId,
                                                  const std::string& what, std::size_t keptLimit) {
    auto opened = blobs.open(blobId);
    if (auto* f = std::get_if<state::BlobFailure>(&opened))
        throw FileSetError(what + ": blob is " + std::string(kindName(f->kind)) + " (" + f->detail +
                           ")");
    state::BlobReader& reader = std::get<state::BlobReader>(opened);

    auto header = std::make_unique<DcmFileFormat>();
    HeaderStream stream(reader, keptLimit);
    header->transferInit();
    const OFCondition cond =
        header->readUntilTag(stream, EXS_Unknown, EGL_noChange, kMaxKeptValueBytes, kStopAt);
    header->transferEnd();

    if (const auto& f = stream.failure())
        throw FileSetError(what + ": blob is " + std::string(kindName(f->kind)) + " (" + f->detail +
                           ")");
    if (stream.overLimit())
        throw FileSetError(what + ": the header before the pixel data is over " +
                           std::to_string(keptLimit) + " bytes");
    if (cond == EC_StreamNotifyClient)
        throw FileSetError(what + ": the object ends inside its header");
    if (cond.bad())
        throw FileSetError(what + ": the object does not parse as DICOM (" + cond.text() + ")");
    return header;
}

}  // namespace sealport::media::detail
