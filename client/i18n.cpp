#include "i18n.h"

#include <algorithm>
#include <cctype>
#include <clocale>
#include <cstdlib>
#include <cstring>
#include <libintl.h>
#include <string_view>

#include "locale_dir.h"

namespace pisock {

namespace {

constexpr const char *kDomain = "pisock";

// The locale the environment asks for names UTF-8 ("zh_CN.UTF-8", "en_GB.utf8").
bool asksForUtf8()
{
    for (const char *name : { "LC_ALL", "LC_CTYPE", "LANG" }) {
        const char *value = std::getenv(name);
        if (!value || !*value)
            continue;
        std::string text(value);
        std::transform(text.begin(), text.end(), text.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        return text.find("utf-8") != std::string::npos || text.find("utf8") != std::string::npos;
    }
    return false;
}

} // namespace

void setUpLocale()
{
    if (!std::setlocale(LC_ALL, "") && asksForUtf8()) {
        // The locale asked for is not installed (zh_CN.UTF-8 never generated): still read and
        // edit UTF-8, or libedit drops every character typed outside ASCII.
        std::setlocale(LC_CTYPE, "C.UTF-8");
    }
    // Numbers as scripts read them (pisock bench --json, the progress line): 1.5, not 1,5.
    std::setlocale(LC_NUMERIC, "C");
    const char *dir = std::getenv("PISOCK_LOCALEDIR");
    ::bindtextdomain(kDomain, dir && *dir ? dir : kLocaleDir);
    ::textdomain(kDomain);
}

const char *tr(const char *msgid) noexcept
{
    return ::gettext(msgid);
}

std::string localErrnoText(int err)
{
    return std::strerror(err);
}

} // namespace pisock
