#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sealport::policy {

// Ways images leave the appliance.
enum class Channel : std::uint8_t { link, media };
std::string_view toString(Channel c) noexcept;

// The [policy] section of the configuration (and [dicom] allowed_calling_aes),
// as plain values. Defaults are the safe ones.
struct Settings {
    std::vector<Channel> onlineChannels{Channel::link, Channel::media};
    std::vector<Channel> incidentChannels{Channel::media};
    std::vector<std::string> onlineCallingAes;    // [dicom] allowed_calling_aes
    std::vector<std::string> incidentCallingAes;  // [policy] incident_allowed_calling_aes
    std::uint32_t linkTtlDaysDefault = 7;
    std::uint32_t linkTtlDaysMax = 30;
    std::uint32_t maxDownloadsDefault = 3;
    std::uint32_t maxDownloadsMax = 10;
    std::chrono::minutes exitApprovalWindow{15};
    std::uint32_t failedTokenThreshold = 20;  // failed look-ups from one address...
    std::chrono::seconds failedTokenWindow{60};  // ...within this window raise an alert
    bool failedTokensTripIncident = true;
    bool revokeLinksOnExit = true;
};

}  // namespace sealport::policy
