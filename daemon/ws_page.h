#pragma once

#include <string>
#include <string_view>

#include "settings.h"

namespace pisock {

// The page a ws listener serves at "/": daemon/ws_page.html, built into the binary. It connects
// back to the listener, shows the daemon's mode, lists the messages it receives and sends
// what is typed. The mode reaches it through the placeholder kWsPageModeMark in a
// <meta name="pisock-mode"> element, which wsPage() fills in (docs/WEBSOCKET.md).
inline constexpr std::string_view kWsPageModeMark = "@PISOCK_MODE@";

// The page as built, placeholder included.
std::string_view wsPageTemplate() noexcept;
// The page for a daemon in mode: build it once (at start and on reload), serve it with
// ws::writePage().
std::string wsPage(Mode mode);

} // namespace pisock
