#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "settings.h"

namespace pisock {

// A bad command line (exit 64) or configuration file (exit 78); what() is one line.
class OptionError : public std::runtime_error
{
public:
    OptionError(int exitCode, const std::string &what)
        : std::runtime_error(what), exitCode_(exitCode)
    {
    }
    [[nodiscard]] int exitCode() const noexcept { return exitCode_; }

private:
    int exitCode_;
};

inline constexpr const char *kDefaultConfig = "/etc/pisockd/pisockd.conf";

// The command line as given, kept so that a reload can apply it again over a new file.
struct CommandLine {
    std::vector<std::string> args; // argv without argv[0]
    std::string configPath = kDefaultConfig;
    bool configGiven = false; // --config: a missing file is an error, not the defaults
    bool check = false;
    bool stats = false; // --stats: ask the running daemon, print, exit
    bool json = false; // --stats --json
    bool exitNow = false; // --help or --version printed
};

// Parses argv; throws OptionError(64) on an unknown option or a bad value.
CommandLine parseCommandLine(int argc, const char *const *argv);
// Defaults, then the configuration file, then the command line. Throws OptionError: 78 for
// the file, 64 for the command line. requireFile: a file was read before (a reload), so a
// missing one is an error even at the default place, not the built-in defaults.
Settings loadSettings(const CommandLine &cmd, bool requireFile = false);
// Applies the text of a configuration file (named name in errors) to s: every entry, each
// key at most once (listen, allow and deny may repeat), no listen address twice however it is
// spelt. Throws OptionError(78) "NAME:LINE: why".
void applyConfigText(Settings &s, std::string_view text, const std::string &name);

} // namespace pisock
