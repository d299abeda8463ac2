#include "mdns_hint.h"

#include <cctype>
#include <fstream>
#include <sstream>

#include "i18n.h"

namespace pisock {

namespace {

bool isLocalName(std::string_view host)
{
    if (host.ends_with('.'))
        host.remove_suffix(1);
    constexpr std::string_view kLocal = ".local";
    if (host.size() <= kLocal.size())
        return false;
    const std::string_view tail = host.substr(host.size() - kLocal.size());
    for (std::size_t i = 0; i < kLocal.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(tail[i])) != kLocal[i])
            return false;
    return true;
}

// True if the "hosts:" line names an mDNS module (mdns, mdns4_minimal, mdns6...).
bool hostsUseMdns(std::string_view nsswitchText)
{
    std::istringstream in{ std::string(nsswitchText) };
    for (std::string line; std::getline(in, line);) {
        line = line.substr(0, line.find('#'));
        if (line.starts_with("hosts:"))
            return line.find("mdns") != std::string::npos;
    }
    return false;
}

} // namespace

std::optional<std::string> mdnsHint(std::string_view host, std::string_view nsswitchText)
{
    if (!isLocalName(host))
        return std::nullopt;
    if (!hostsUseMdns(nsswitchText))
        return tr("this machine does not resolve .local names (mDNS): sudo apt install "
                  "libnss-mdns");
    return tr(".local names are resolved by mDNS: is the device on this network, with "
              "avahi-daemon running?");
}

std::optional<std::string> mdnsHint(std::string_view host)
{
    if (!isLocalName(host))
        return std::nullopt;
    std::ifstream in("/etc/nsswitch.conf");
    std::stringstream text;
    text << in.rdbuf();
    return mdnsHint(host, text.str());
}

} // namespace pisock
