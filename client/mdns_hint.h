#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pisock {

// For a host name that did not resolve: how to get it resolved when it is a .local (mDNS)
// name, said for this machine: without an mDNS module in the "hosts:" line of nsswitch
// (nsswitchText, the text of /etc/nsswitch.conf), the package that brings one; with one, that
// the device must be on this network and announce its name. Nothing for other names.
std::optional<std::string> mdnsHint(std::string_view host, std::string_view nsswitchText);

// mdnsHint() with this machine's /etc/nsswitch.conf.
std::optional<std::string> mdnsHint(std::string_view host);

} // namespace pisock
