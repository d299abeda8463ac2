// Real locales for the tests of pisock's translations. gettext ignores LANGUAGE in the C
// locale, and trixie's glibc (2.41, not bookworm's 2.36) in C.UTF-8 too, the tests' own LC_ALL;
// so the tests show pisock in Chinese as a user gets it: under a zh_CN.UTF-8 locale, compiled
// into a directory of the test's own (LOCPATH), as locale-gen compiles it for the system.

#pragma once

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tests/e2e/harness.h"

namespace pisock::test {

// The catalogs of this build, or "" when it was built without them (-Dnls=disabled).
inline std::string builtCatalogs()
{
    const char *dir = std::getenv("PISOCK_TEST_LOCALEDIR");
    return dir ? dir : "";
}

// A directory holding zh_CN.UTF-8 and en_GB.UTF-8 (for LOCPATH), compiled once per test
// process; nullopt, with localedef's error in *why, when they cannot be compiled.
inline std::optional<std::string> compiledLocales(std::string *why)
{
    static TempDir dir;
    static std::string error;
    static const bool made = [] {
        for (const char *name : { "zh_CN", "en_GB" }) {
            const std::string to = dir.path() + "/" + name + ".UTF-8";
            const auto r = runProcess({ "/usr/bin/localedef", "-i", name, "-f", "UTF-8", to }, {},
                                      std::chrono::seconds(120));
            if (!std::filesystem::exists(to + "/LC_CTYPE")) {
                error = "localedef " + std::string(name) + ".UTF-8: " + r.err;
                return false;
            }
        }
        return true;
    }();
    if (!made) {
        if (why)
            *why = error;
        return std::nullopt;
    }
    return dir.path();
}

// The environment of a user whose locale is zh_CN.UTF-8, with the catalogs of this build;
// nullopt, with the reason printed for the test summary, when there is no catalog or locale.
inline std::optional<std::vector<std::string>> chineseUser()
{
    if (builtCatalogs().empty()) {
        skipCase("pisock was built without translations (no msgfmt: package gettext, or "
                 "-Dnls=disabled)");
        return std::nullopt;
    }
    std::string why;
    const auto locales = compiledLocales(&why);
    if (!locales) {
        skipCase("cannot compile the zh_CN.UTF-8 locale (package locales): " + why);
        return std::nullopt;
    }
    return std::vector<std::string>{ "LANGUAGE=", "LANG=", "LC_ALL=zh_CN.UTF-8",
                                     "LOCPATH=" + *locales, "PISOCK_LOCALEDIR=" + builtCatalogs() };
}

} // namespace pisock::test
