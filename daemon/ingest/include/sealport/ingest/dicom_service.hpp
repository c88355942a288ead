#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "sealport/core/clock.hpp"
#include "sealport/core/config.hpp"
#include "sealport/core/handles.hpp"
#include "sealport/core/mode_gate.hpp"
#include "sealport/policy/settings.hpp"
#include "sealport/state/state.hpp"

namespace sealport::ingest {

struct DicomSettings {
    core::Endpoint listen;
    std::string aeTitle;
    unsigned maxAssociations = 16;
    std::size_t maxObjectBytes = 2ULL * 1024 * 1024 * 1024;
    unsigned acseTimeoutSeconds = 30;
    unsigned dimseTimeoutSeconds = 60;
};

// The C-STORE SCP (DCMTK). One accept thread; each association runs on a
// thread of its own with its own database connection, up to maxAssociations.
// Every association is checked against the policy for the current mode (the
// calling AE title) and the called AE title; refusals get the DICOM rejection
// reason and an audit entry. Each instance is received in memory (memfd, never
// plaintext on disk), stored through the IngestPipeline, and acknowledged only
// after its catalogue commit.
class DicomService {
public:
    DicomService(DicomSettings settings, state::State& state, const core::ModeGate& gate,
                 const policy::Settings& policy, const core::Clock& clock);
    ~DicomService();
    DicomService(const DicomService&) = delete;
    DicomService& operator=(const DicomService&) = delete;

    // Binds `listen` (or takes `activated`, a listening socket from systemd)
    // and starts accepting. Throws when the address cannot be bound.
    void start(core::UniqueFd activated = {});
    // Stops accepting, cuts open associations, and waits for their threads.
    void stop();
    [[nodiscard]] std::uint16_t port() const noexcept;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace sealport::ingest
