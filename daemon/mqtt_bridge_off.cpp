// The bridge when pisockd is built without libmosquitto (meson -Dmqtt=disabled): asking for
// one is a configuration error, said once at start and by --check.

#include "bridge.h"
#include "exit_code.h"
#include "options.h"

namespace pisock {

namespace {

constexpr const char *kNoMqtt =
        "bridge: this pisockd was built without MQTT support (meson -Dmqtt=disabled)";

} // namespace

std::unique_ptr<Bridge> startBridge(EventLoop &, BroadcastHub &, const Settings &)
{
    throw OptionError(kExitConfig, kNoMqtt);
}

std::string checkBridge(const Settings &, std::string &, unsigned)
{
    throw OptionError(kExitConfig, kNoMqtt);
}

} // namespace pisock
