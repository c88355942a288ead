// sealportctl: the command-line client of sealportd's control socket.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sealport/control/client.hpp"

namespace {

using nlohmann::json;
namespace ctl = sealport::control;

constexpr const char* kDefaultSocket = "/run/sealport/control.sock";

enum Exit : int { kOk = 0, kUnavailable = 1, kRefused = 2, kCheckFailed = 3, kUsage = 64 };

struct Option {
    std::string flag;       // "--reason" or "-n"
    std::string key;        // argument name sent to the daemon
    enum Kind { text, integer, repeated } kind = text;
    bool required = false;
};

struct CommandSpec {
    std::string name;  // "audit tail"
    std::string synopsis;
    std::vector<Option> options;
    // Positional arguments: sent as `positional` (a string, or a list when
    // `manyPositional`), at least `minPositional` of them.
    std::string positional;
    bool manyPositional = false;
    std::size_t minPositional = 0;
    bool absolutePaths = false;  // positional paths are made absolute here
};

const std::vector<CommandSpec>& commands() {
    // Designated initializers leave the other fields at their defaults on purpose.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
    static const std::vector<CommandSpec> specs = {
        {.name = "status", .synopsis = "status"},
        {.name = "audit verify", .synopsis = "audit verify"},
        {.name = "audit tail", .synopsis = "audit tail [-n N]", .options = {{"-n", "n", Option::integer, false}}},
        {.name = "incident enter",
         .synopsis = "incident enter --reason TEXT",
         .options = {{"--reason", "reason", Option::text, true}}},
        {.name = "incident exit", .synopsis = "incident exit"},
        {.name = "recovery check", .synopsis = "recovery check"},
        {.name = "import",
         .synopsis = "import PATH...",
         .positional = "paths",
         .manyPositional = true,
         .minPositional = 1,
         .absolutePaths = true},
        {.name = "studies",
         .synopsis = "studies [--patient ID]",
         .options = {{"--patient", "patient", Option::text, false}}},
        {.name = "study", .synopsis = "study UID", .positional = "study", .minPositional = 1},
        {.name = "link create",
         .synopsis = "link create --study UID [--study UID...] [--recipient TEXT] [--ttl-days N] [--max-downloads N]",
         .options = {{"--study", "studies", Option::repeated, true},
                     {"--recipient", "recipient", Option::text, false},
                     {"--ttl-days", "ttl_days", Option::integer, false},
                     {"--max-downloads", "max_downloads", Option::integer, false}}},
        {.name = "link list", .synopsis = "link list"},
        {.name = "link revoke", .synopsis = "link revoke ID", .positional = "id", .minPositional = 1},
        {.name = "apikey create",
         .synopsis = "apikey create --name NAME [--role ris|operator]",
         .options = {{"--name", "name", Option::text, true}, {"--role", "role", Option::text, false}}},
        {.name = "apikey list", .synopsis = "apikey list"},
        {.name = "apikey revoke", .synopsis = "apikey revoke ID", .positional = "id", .minPositional = 1},
    };
#pragma GCC diagnostic pop

    return specs;
}

void usage(std::ostream& out) {
    out << "usage: sealportctl [--socket PATH] [--json] COMMAND [ARGS]\n\ncommands:\n";
    for (const auto& c : commands()) out << "  " << c.synopsis << "\n";
    out << "\nThe socket is --socket, else $SEALPORT_SOCKET, else " << kDefaultSocket << ".\n";
}

struct Invocation {
    std::string socket;
    bool jsonOutput = false;
    const CommandSpec* spec = nullptr;
    json args = json::object();
};

[[noreturn]] void usageError(const std::string& message) {
    std::cerr << "sealportctl: " << message << "\n";
    usage(std::cerr);
    std::exit(kUsage);
}

Invocation parse(int argc, char** argv) {
    Invocation inv;
    const char* env = std::getenv("SEALPORT_SOCKET");
    inv.socket = env != nullptr && *env != '\0' ? env : kDefaultSocket;
    std::vector<std::string> rest;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--json") {
            inv.jsonOutput = true;
        } else if (a == "--socket") {
            if (i + 1 >= argc) usageError("--socket needs a path");
            inv.socket = argv[++i];
        } else if (a.rfind("--socket=", 0) == 0) {
            inv.socket = a.substr(9);
        } else if (a == "-h" || a == "--help") {
            usage(std::cout);
            std::exit(kOk);
        } else {
            rest.push_back(a);
        }
    }
    // The longest command name that prefixes the words wins ("audit tail" over "audit").
    std::size_t used = 0;
    for (const auto& spec : commands()) {
        std::vector<std::string> words;
        std::string w;
        for (char ch : spec.name + " ") {
            if (ch == ' ') {
                words.push_back(w);
                w.clear();
            } else {
                w.push_back(ch);
            }
        }
        if (words.size() > rest.size() || words.size() <= used) continue;
        if (std::equal(words.begin(), words.end(), rest.begin())) {
            inv.spec = &spec;
            used = words.size();
        }
    }
    if (inv.spec == nullptr) usageError(rest.empty() ? "no command given" : "unknown command '" + rest[0] + "'");
    std::size_t positionals = 0;
    for (std::size_t i = used; i < rest.size(); ++i) {
        const std::string& a = rest[i];
        const Option* opt = nullptr;
        for (const auto& o : inv.spec->options)
            if (o.flag == a) opt = &o;
        if (opt == nullptr && !inv.spec->positional.empty() && (a.empty() || a[0] != '-' || a == "-")) {
            std::string value = a;
            if (inv.spec->absolutePaths) value = std::filesystem::absolute(value).lexically_normal().string();
            if (inv.spec->manyPositional) {
                inv.args[inv.spec->positional].push_back(value);
            } else {
                if (positionals > 0) usageError("'" + inv.spec->name + "' takes one argument");
                inv.args[inv.spec->positional] = value;
            }
            ++positionals;
            continue;
        }
        if (opt == nullptr) usageError("'" + inv.spec->name + "' does not take '" + a + "'");
        if (i + 1 >= rest.size()) usageError(a + " needs a value");
        const std::string value = rest[++i];
        if (opt->kind == Option::integer) {
            try {
                std::size_t pos = 0;
                const long long n = std::stoll(value, &pos);
                if (pos != value.size()) throw std::invalid_argument(value);
                inv.args[opt->key] = n;
            } catch (const std::exception&) {
                usageError(a + " needs a whole number, not '" + value + "'");
            }
        } else if (opt->kind == Option::repeated) {
            inv.args[opt->key].push_back(value);
        } else {
            inv.args[opt->key] = value;
        }
    }
    for (const auto& o : inv.spec->options)
        if (o.required && !inv.args.contains(o.key)) usageError("'" + inv.spec->name + "' needs " + o.flag);
    if (positionals < inv.spec->minPositional) usageError("usage: sealportctl " + inv.spec->synopsis);
    return inv;
}

std::string scalar(const json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_null()) return "-";
    return v.dump();
}

void printStatus(const json& r) {
    std::cout << "mode:               " << scalar(r.value("mode", json())) << "\n"
              << "since:              " << scalar(r.value("mode_since", json())) << "\n"
              << "reason:             " << scalar(r.value("reason", json())) << "\n";
    for (const char* key : {"audit_entries", "dicom_port", "https_port", "console_port",
                            "signer_fingerprint", "version"}) {
        if (r.contains(key)) {
            std::string label = std::string(key) + ":";
            label.resize(20, ' ');
            std::cout << label << scalar(r[key]) << "\n";
        }
    }
    for (const auto& a : r.value("exit_approvals", json::array()))
        std::cout << "exit approval:      uid " << scalar(a.value("uid", json())) << " at "
                  << scalar(a.value("at", json())) << " (expires " << scalar(a.value("expires_at", json()))
                  << ")\n";
    const json alerts = r.value("alerts", json::array());
    if (alerts.empty()) {
        std::cout << "alerts:             none\n";
    } else {
        std::cout << "alerts:\n";
        for (const auto& a : alerts) std::cout << "  ! " << scalar(a) << "\n";
    }
}

void printAuditVerify(const json& r) {
    if (r.value("ok", false)) {
        std::cout << "audit chain: ok (" << r.value("entries", 0) << " entries, "
                  << r.value("checkpoints", 0) << " signed checkpoints)\n";
    } else {
        std::cout << "audit chain: BROKEN at entry " << scalar(r.value("first_bad", json()))
                  << ": " << r.value("reason", std::string("unknown")) << "\n"
                  << "(" << r.value("entries", 0) << " entries read)\n";
    }
}

void printAuditTail(const json& r) {
    for (const auto& e : r.value("entries", json::array())) {
        const json actor = e.value("actor", json::object());
        std::cout << "#" << e.value("seq", 0) << "  " << e.value("time", std::string()) << "  "
                  << e.value("outcome", std::string()) << "  " << e.value("action", std::string())
                  << "  " << e.value("subject", std::string()) << "  uid=" << scalar(actor.value("uid", json()))
                  << " pid=" << scalar(actor.value("pid", json())) << " role="
                  << actor.value("role", std::string()) << "  " << e.value("details", json()).dump()
                  << "\n";
    }
}

void printChecks(const json& checks) {
    for (const auto& c : checks)
        std::cout << "  [" << (c.value("ok", false) ? " ok " : "FAIL") << "] " << c.value("name", std::string())
                  << ": " << c.value("detail", std::string()) << "\n";
}

void printRecoveryCheck(const json& r) {
    std::cout << "recovery checklist:\n";
    printChecks(r.value("checks", json::array()));
    const bool incident = r.value("mode", std::string()) == "incident";
    if (!r.value("ready", false))
        std::cout << "NOT ready: fix the red checks" << (incident ? " before leaving incident mode" : "") << "\n";
    else if (incident)
        std::cout << "ready: all checks green; two different security officers may now run "
                     "'sealportctl incident exit'\n";
    else
        std::cout << "all checks green (the appliance is online)\n";
}

void printIncident(const std::string& command, const json& r) {
    const std::string rule = r.value("rule", std::string());
    if (command == "incident enter") {
        if (r.value("changed", false)) {
            std::cout << "INCIDENT MODE ENTERED. ";
        } else {
            std::cout << "Already in incident mode";
            for (const auto& reason : r.value("reasons", json::array())) std::cout << "; " << scalar(reason);
            std::cout << ". ";
        }
        std::cout << "Online sharing is suspended; images leave only on new sealed media.\n";
    } else if (rule == "exit.first-approval") {
        std::cout << "Your approval is recorded. A DIFFERENT security officer must now run "
                     "'sealportctl incident exit' before "
                  << r.value("approval_expires_at", std::string("the window closes")) << ".\n";
        printChecks(r.value("checks", json::array()));
    } else {
        std::cout << "Incident mode left: the appliance is online again.\n";
        printChecks(r.value("checks", json::array()));
    }
    std::cout << "(mode " << r.value("mode", std::string()) << ", rule " << rule << ", audit entry #"
              << r.value("audit_seq", 0) << ")\n";
}

void printStudies(const json& r) {
    const json list = r.value("studies", json::array());
    if (list.empty()) {
        std::cout << "no studies\n";
        return;
    }
    for (const auto& st : list) {
        std::string mods;
        for (const auto& m : st.value("modalities", json::array())) mods += (mods.empty() ? "" : ",") + scalar(m);
        std::cout << scalar(st.value("study_date", json())) << "  " << scalar(st.value("patient_id", json())) << "  "
                  << scalar(st.value("patient_name", json())) << "  " << mods << "  "
                  << st.value("instances", 0) << " images  " << st.value("bytes", 0) << " bytes\n"
                  << "    " << scalar(st.value("study_uid", json())) << "  "
                  << scalar(st.value("description", json())) << "\n";
    }
}

void printStudy(const json& r) {
    std::cout << "patient:      " << scalar(r.value("patient_name", json())) << " (" << scalar(r.value("patient_id", json()))
              << "), born " << scalar(r.value("birth_date", json())) << ", sex " << scalar(r.value("sex", json())) << "\n"
              << "study:        " << scalar(r.value("study_uid", json())) << "\n"
              << "date:         " << scalar(r.value("study_date", json())) << " " << scalar(r.value("study_time", json())) << "\n"
              << "description:  " << scalar(r.value("description", json())) << "\n"
              << "accession:    " << scalar(r.value("accession_number", json())) << "\n"
              << "referring:    " << scalar(r.value("referring_physician", json())) << "\n"
              << "images:       " << r.value("instances", 0) << " (" << r.value("bytes", 0) << " bytes)\n"
              << "series:\n";
    for (const auto& se : r.value("series_list", json::array()))
        std::cout << "  #" << scalar(se.value("number", json())) << "  " << scalar(se.value("modality", json())) << "  "
                  << se.value("instances", 0) << " images  " << se.value("bytes", 0) << " bytes  "
                  << scalar(se.value("description", json())) << "\n";
}

void printImport(const json& r) {
    std::cout << "imported:    " << r.value("imported", 0) << "\n"
              << "duplicates:  " << r.value("duplicates", 0) << "\n";
    const json rejected = r.value("rejected", json::array());
    std::cout << "rejected:    " << rejected.size() << "\n";
    for (const auto& x : rejected)
        std::cout << "  " << scalar(x.value("path", json())) << ": " << scalar(x.value("reason", json())) << "\n";
}

void printLinks(const json& r) {
    const json list = r.value("links", json::array());
    if (list.empty()) {
        std::cout << "no links\n";
        return;
    }
    for (const auto& l : list) {
        std::cout << scalar(l.value("id", json())) << "  " << scalar(l.value("state", json())) << "  "
                  << l.value("downloads", 0) << "/" << l.value("max_downloads", 0) << " downloads  expires "
                  << scalar(l.value("expires_at", json())) << "  by " << scalar(l.value("created_by", json())) << "\n";
        for (const auto& st : l.value("studies", json::array())) std::cout << "    study " << scalar(st) << "\n";
        if (!l.value("recipient", std::string()).empty())
            std::cout << "    for " << scalar(l.value("recipient", json())) << "\n";
    }
}

void printApiKeys(const json& r) {
    const json list = r.value("keys", json::array());
    if (list.empty()) {
        std::cout << "no API keys\n";
        return;
    }
    for (const auto& k : list)
        std::cout << scalar(k.value("id", json())) << "  " << scalar(k.value("role", json())) << "  "
                  << scalar(k.value("name", json())) << "  created " << scalar(k.value("created_at", json()))
                  << (k.value("revoked_at", json()).is_null() ? std::string()
                                                              : "  REVOKED " + scalar(k.value("revoked_at", json())))
                  << "\n";
}

void printGeneric(const json& r) {
    if (!r.is_object()) {
        std::cout << r.dump(2) << "\n";
        return;
    }
    for (const auto& [k, v] : r.items()) std::cout << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
}

}  // namespace

int main(int argc, char** argv) try {
    const Invocation inv = parse(argc, argv);
    json response;
    try {
        // An import of many files takes as long as it takes.
        // So does the first link to a large study (it reads the study once for CRC-32s).
        const auto timeout = inv.spec->name == "import"        ? std::chrono::milliseconds(std::chrono::hours(6))
                             : inv.spec->name == "link create" ? std::chrono::milliseconds(std::chrono::hours(1))
                                                               : std::chrono::milliseconds(std::chrono::seconds(60));
        response = ctl::callDaemon(inv.socket, inv.spec->name, inv.args, timeout);
    } catch (const ctl::ClientError& e) {
        if (inv.jsonOutput) std::cout << json{{"ok", false}, {"error", "unavailable"}, {"message", e.what()}}.dump() << "\n";
        std::cerr << "sealportctl: " << e.what() << "\n";
        return kUnavailable;
    }
    if (!response.value("ok", false)) {
        if (inv.jsonOutput) std::cout << response.dump() << "\n";
        std::cerr << "sealportctl: " << response.value("message", std::string("refused")) << " ("
                  << response.value("error", std::string("error")) << ", correlation id "
                  << response.value("correlation_id", std::string("-")) << ")\n";
        return kRefused;
    }
    const json result = response.value("result", json::object());
    if (inv.jsonOutput) {
        std::cout << result.dump() << "\n";
    } else if (inv.spec->name == "status") {
        printStatus(result);
    } else if (inv.spec->name == "audit verify") {
        printAuditVerify(result);
    } else if (inv.spec->name == "audit tail") {
        printAuditTail(result);
    } else if (inv.spec->name == "studies") {
        printStudies(result);
    } else if (inv.spec->name == "study") {
        printStudy(result);
    } else if (inv.spec->name == "import") {
        printImport(result);
    } else if (inv.spec->name == "recovery check") {
        printRecoveryCheck(result);
    } else if (inv.spec->name == "link list") {
        printLinks(result);
    } else if (inv.spec->name == "apikey list") {
        printApiKeys(result);
    } else if (inv.spec->name.rfind("incident ", 0) == 0) {
        printIncident(inv.spec->name, result);
    } else {
        printGeneric(result);
    }
    if (inv.spec->name == "audit verify" && !result.value("ok", false)) return kCheckFailed;
    if (inv.spec->name == "recovery check" && !result.value("ready", false)) return kCheckFailed;
    return kOk;
} catch (const std::exception& e) {
    std::cerr << "sealportctl: " << e.what() << "\n";
    return kUnavailable;
}
