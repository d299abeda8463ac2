#pragma once

// pisock speaks the user's language: its messages and --help come from the gettext catalog
// "pisock" (po/; docs/TRANSLATING.md says how to add a message and update the translations).
// Only pisock: pisockd's log lines stay in English, so that they can be searched for.

#include <cstddef>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace pisock {

// Sets the locale from the environment (LC_ALL, LC_*, LANG), so that libedit reads and edits
// multibyte text and messages come from the catalog, and opens the catalog: in the installed
// locale directory, or in $PISOCK_LOCALEDIR (tests, a build tree). Numbers keep the C format.
void setUpLocale();

// msgid in the user's language; msgid itself when there is no translation.
const char *tr(const char *msgid) noexcept;

// A translated fmt format string with named arguments:
//   trf("no reply from {server} within {time}", fmt::arg("server", name), fmt::arg("time", t))
// A translation whose placeholders do not fit the arguments falls back to msgid.
template<typename... Args> std::string trf(const char *msgid, const Args &...args)
{
    try {
        return fmt::format(fmt::runtime(tr(msgid)), args...);
    } catch (const fmt::format_error &) {
        return fmt::format(fmt::runtime(msgid), args...);
    }
}

// The text of an errno value in the user's language (strerror()); the daemon's errnoText()
// stays in English.
std::string localErrnoText(int err);

} // namespace pisock
