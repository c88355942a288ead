// import, studies, study: the catalogue seen from the control socket.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "sealport/core/files.hpp"
#include "sealport/core/handles.hpp"
#include "sealport/ingest/pipeline.hpp"
#include "sealport/policy/decision.hpp"
#include "sealport/runtime/commands.hpp"

namespace sealport::runtime {

using nlohmann::json;
using policy::Permission;
using policy::Role;

namespace {

json studyJson(const state::StudySummary& s) {
    return json{{"study_uid", s.studyUid},
                {"patient_id", s.patientId},
                {"patient_name", s.patientName},
                {"birth_date", s.birthDate},
                {"sex", s.sex},
                {"study_date", s.studyDate},
                {"study_time", s.studyTime},
                {"description", s.description},
                {"accession_number", s.accessionNumber},
                {"referring_physician", s.referringPhysician},
                {"received_at", s.receivedAt},
                {"modalities", s.modalities},
                {"series", s.series},
                {"instances", s.instances},
                {"bytes", s.bytes}};
}

struct ImportTally {
    std::int64_t imported = 0;
    std::int64_t duplicates = 0;
    json rejected = json::array();
};

// Reads one candidate file into memory: a regular file, opened without
// blocking on FIFOs, no larger than the object limit.
std::variant<core::Bytes, std::string> readCandidate(const std::filesystem::path& p, std::size_t maxBytes) {
    core::UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (!fd) return std::string("cannot open: ") + std::strerror(errno);
    struct stat st{};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::string("not a regular file");
    if (static_cast<std::uint64_t>(st.st_size) > maxBytes) return std::string("larger than the object limit");
    core::Bytes data(static_cast<std::size_t>(st.st_size));
    if (core::readAll(fd.get(), data) != data.size()) return std::string("short read");
    return data;
}

bool within(const std::filesystem::path& p, const std::filesystem::path& dir) {
    std::error_code ec;
    const auto a = std::filesystem::weakly_canonical(p, ec);
    const auto b = std::filesystem::weakly_canonical(dir, ec);
    auto [bi, ai] = std::mismatch(b.begin(), b.end(), a.begin(), a.end());
    return bi == b.end();
}

}  // namespace

void registerCatalogueCommands(control::CommandRegistry& registry, Services& s) {
    registry.add("studies", Permission::of({Role::operator_, Role::auditor, Role::security}),
                 [&s](const control::CommandContext& ctx) {
                     std::optional<std::string> patient;
                     if (auto it = ctx.args.find("patient"); it != ctx.args.end()) {
                         if (!it->is_string())
                             throw control::CommandError(control::ErrorKind::invalid_argument,
                                                         "'patient' must be text");
                         patient = it->get<std::string>();
                     }
                     json list = json::array();
                     for (const auto& st : s.state.catalogue().studies(patient)) list.push_back(studyJson(st));
                     return json{{"studies", std::move(list)}};
                 });

    registry.add("study", Permission::of({Role::operator_, Role::auditor, Role::security}),
                 [&s](const control::CommandContext& ctx) {
                     const std::string uid = control::requireString(ctx.args, "study");
                     const auto d = s.state.catalogue().study(uid);
                     if (!d)
                         throw control::CommandError(control::ErrorKind::invalid_argument,
                                                     "no study " + uid + " in the catalogue");
                     json out = studyJson(d->study);
                     json series = json::array();
                     for (const auto& se : d->series)
                         series.push_back({{"series_uid", se.seriesUid},
                                           {"number", se.number ? json(*se.number) : json()},
                                           {"modality", se.modality},
                                           {"description", se.description},
                                           {"instances", se.instances},
                                           {"bytes", se.bytes}});
                     out["series_list"] = std::move(series);
                     return out;
                 });

    registry.addBackground(
        "import", Permission::of({Role::operator_}), [&s](const control::CommandContext& ctx) -> control::BackgroundWork {
            auto it = ctx.args.find("paths");
            if (it == ctx.args.end() || !it->is_array() || it->empty())
                throw control::CommandError(control::ErrorKind::invalid_argument, "import needs at least one PATH");
            std::vector<std::filesystem::path> paths;
            for (const auto& p : *it) {
                if (!p.is_string() || p.get<std::string>().empty() || p.get<std::string>().front() != '/')
                    throw control::CommandError(control::ErrorKind::invalid_argument,
                                                "import paths must be absolute");
                paths.emplace_back(p.get<std::string>());
            }
            policy::Context pctx;
            pctx.now = s.clock.now();
            pctx.callerUid = ctx.caller.peer.uid;
            pctx.roles = ctx.caller.roles;
            const auto d = policy::decide(s.gate.current(), policy::Action::import_files, pctx, s.policy);
            if (!d.allowed()) {
                s.state.audit().append(ctx.caller.actor(), "ingest.import", "-", state::Outcome::refused,
                                       {{"rule", d.rule}, {"reasons", d.reasons}});
                throw control::CommandError(control::ErrorKind::refused,
                                            "refused (" + d.rule + "): " + d.reasons.front());
            }
            const state::Actor actor = ctx.caller.actor();
            const std::string source = "import:uid:" + std::to_string(ctx.caller.peer.uid);
            return [&s, paths, actor, source](const std::atomic<bool>& cancelled) {
                auto conn = s.state.connect(s.clock);
                ingest::IngestPipeline pipeline(*conn, s.state.blobs(), s.clock, s.maxObjectBytes);
                ImportTally t;
                auto one = [&](const std::filesystem::path& file) {
                    if (within(file, s.state.databasePath().parent_path())) {
                        t.rejected.push_back({{"path", file.string()}, {"reason", "inside the appliance's state"}});
                        return;
                    }
                    auto data = readCandidate(file, s.maxObjectBytes);
                    if (auto* why = std::get_if<std::string>(&data)) {
                        t.rejected.push_back({{"path", file.string()}, {"reason", *why}});
                        return;
                    }
                    const auto r = pipeline.store(std::get<core::Bytes>(data), source, actor);
                    switch (r.status) {
                        case ingest::StoreStatus::stored: ++t.imported; break;
                        case ingest::StoreStatus::duplicate: ++t.duplicates; break;
                        default: t.rejected.push_back({{"path", file.string()}, {"reason", r.detail}});
                    }
                };
                for (const auto& p : paths) {
                    std::error_code ec;
                    if (std::filesystem::is_directory(p, ec)) {
                        auto iter = std::filesystem::recursive_directory_iterator(
                            p, std::filesystem::directory_options::skip_permission_denied, ec);
                        for (; !ec && iter != std::filesystem::recursive_directory_iterator(); iter.increment(ec)) {
                            if (cancelled.load()) break;
                            if (iter->is_regular_file(ec)) one(iter->path());
                        }
                        if (ec)
                            t.rejected.push_back({{"path", p.string()}, {"reason", "cannot list: " + ec.message()}});
                    } else if (std::filesystem::exists(p, ec)) {
                        one(p);
                    } else {
                        t.rejected.push_back({{"path", p.string()}, {"reason", "no such file or directory"}});
                    }
                    if (cancelled.load()) break;
                }
                conn->audit.append(actor, "ingest.import", "-", state::Outcome::success,
                                   {{"imported", t.imported},
                                    {"duplicates", t.duplicates},
                                    {"rejected", t.rejected.size()},
                                    {"cancelled", cancelled.load()}});
                return json{{"imported", t.imported}, {"duplicates", t.duplicates}, {"rejected", t.rejected}};
            };
        });
}

}  // namespace sealport::runtime
