#include "sealport/core/log.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

namespace sealport::core::log {
namespace {

std::mutex& stderrLock() {
    static std::mutex m;
    return m;
}

bool journalPresent() {
    struct stat st{};
    return ::stat("/run/systemd/journal/socket", &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

void write(Priority p, std::string_view message) {
    static const bool underJournal = std::getenv("JOURNAL_STREAM") != nullptr;
    static constexpr const char* kNames[] = {"", "", "", "error", "warning", "notice", "info", "debug"};
    const auto idx = static_cast<int>(p);
    std::lock_guard lock(stderrLock());
    if (underJournal) {
        std::fprintf(stderr, "<%d>%.*s\n", idx, static_cast<int>(message.size()), message.data());
    } else {
        std::fprintf(stderr, "sealportd: %s: %.*s\n", kNames[idx], static_cast<int>(message.size()),
                     message.data());
    }
    std::fflush(stderr);
}

bool journal(Priority p, std::string_view messageId, std::string_view message,
             std::initializer_list<Field> fields) {
    static const bool present = journalPresent();
    if (!present) return false;
    std::vector<std::string> lines;
    lines.reserve(fields.size() + 4);
    lines.push_back("MESSAGE=" + std::string(message));
    lines.push_back("PRIORITY=" + std::to_string(static_cast<int>(p)));
    lines.push_back("SYSLOG_IDENTIFIER=sealportd");
    if (!messageId.empty()) lines.push_back("MESSAGE_ID=" + std::string(messageId));
    for (const auto& [name, value] : fields) lines.push_back(std::string(name) + "=" + value);
    std::vector<iovec> iov;
    iov.reserve(lines.size());
    for (auto& l : lines) iov.push_back(iovec{l.data(), l.size()});
    return sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0;
}

}  // namespace sealport::core::log
