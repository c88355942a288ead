// sealportd: parse arguments, load config and key, build the runtime, run.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

#include "sealport/core/config.hpp"
#include "sealport/core/keys.hpp"
#include "sealport/runtime/runtime.hpp"
#include "sealport/state/database.hpp"

namespace {

namespace core = sealport::core;

// Exit codes (sysexits.h where one fits).
enum Exit : int { kOk = 0, kFailure = 1, kUsage = 64, kNoKey = 77, kConfig = 78, kStateKey = 2 };

struct Arguments {
    std::optional<std::string> config;
    std::optional<std::string> generateKey;
    bool checkConfig = false;
    bool init = false;
};

void usage(std::ostream& out) {
    out << "usage: sealportd [--config FILE] [--check-config | --init]\n"
           "       sealportd --generate-key FILE\n"
           "       sealportd --version\n"
           "--init commissions a new, empty state (online) once, before the first start.\n"
           "The master key is read from key_file, else $CREDENTIALS_DIRECTORY/sealport.key;\n"
           "never from arguments or the environment.\n";
}

Arguments parseArguments(int argc, char** argv) {
    Arguments a;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::cerr << "sealportd: " << arg << " needs a value\n";
                std::exit(kUsage);
            }
            return argv[++i];
        };
        if (arg == "--config") a.config = value();
        else if (arg == "--generate-key") a.generateKey = value();
        else if (arg == "--check-config") a.checkConfig = true;
        else if (arg == "--init") a.init = true;
        else if (arg == "--version") { std::cout << "sealportd " SEALPORT_VERSION "\n"; std::exit(kOk); }
        else if (arg == "-h" || arg == "--help") { usage(std::cout); std::exit(kOk); }
        else {
            std::cerr << "sealportd: unknown argument '" << arg << "'\n";
            usage(std::cerr);
            std::exit(kUsage);
        }
    }
    return a;
}

int runDaemon(const Arguments& args) {
    const auto env = core::Environment::fromProcess();
    core::Config config = args.config ? core::loadConfigFile(*args.config, env) : core::defaultConfig(env);
    if (args.checkConfig) {
        std::cout << core::describe(config);
        return kOk;
    }
    const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
    core::SecretBytes key =
        core::readMasterKeyFile(core::masterKeyPath(config.keyFile, credentials), ::geteuid());
    if (args.init) {
        sealport::runtime::Runtime::initialize(config, std::move(key));
        std::cout << "initialized a new state in " << config.stateDir.string() << " (mode online)\n";
        return kOk;
    }
    sealport::runtime::Runtime runtime(std::move(config), std::move(key));
    return runtime.run();
}

}  // namespace

int main(int argc, char** argv) {
    ::umask(0077);
    const Arguments args = parseArguments(argc, argv);
    try {
        if (args.generateKey) {
            core::generateKeyFile(*args.generateKey);
            std::cout << "wrote a new master key to " << *args.generateKey << " (mode 0600)\n";
            return kOk;
        }
        return runDaemon(args);
    } catch (const core::ConfigError& e) {
        std::cerr << "sealportd: configuration error: " << e.what() << "\n";
        return kConfig;
    } catch (const core::KeyError& e) {
        std::cerr << "sealportd: " << e.what() << "\n";
        return kNoKey;
    } catch (const sealport::state::StateKeyError& e) {
        std::cerr << "sealportd: " << e.what()
                  << " (wrong key_file, or the state belongs to another appliance); nothing is served\n";
        return kStateKey;
    } catch (const std::exception& e) {
        std::cerr << "sealportd: cannot start: " << e.what() << "\n";
        return kFailure;
    }
}
