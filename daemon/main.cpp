// pisockd: parses the options, opens the listeners and runs the server.

#include <cstdio>
#include <malloc.h>
#include <signal.h>
#include <string>
#include <system_error>

#include <fmt/format.h>
#include <systemd/sd-daemon.h>

#include "check.h"
#include "common/memory_budget.h"
#include "common/safe_text.h"
#include "event_loop.h"
#include "exit_code.h"
#include "log.h"
#include "options.h"
#include "server.h"
#include "stats_client.h"

namespace pisock {

namespace {

int run(int argc, char **argv)
{
    const CommandLine cmd = parseCommandLine(argc, argv);
    if (cmd.exitNow)
        return kExitOk;
    Settings settings = loadSettings(cmd);
    if (cmd.stats)
        return runStats(settings, cmd.json);
    log::init();
    log::setLevel(settings.logLevel);
    if (cmd.check)
        return runCheck(cmd, settings);

    EventLoop loop;
    Server server(loop, cmd, std::move(settings));
    server.open();
    return server.run();
}

} // namespace

} // namespace pisock

int main(int argc, char **argv)
{
    using namespace pisock;
    // A peer that disconnects must never kill the daemon; send() also says MSG_NOSIGNAL.
    ::signal(SIGPIPE, SIG_IGN);
    // Blocks of 128 KiB and more come from mmap() and go back to the kernel when freed; glibc
    // would otherwise raise the threshold after the first such free, and a burst's large
    // buffers would stay in the heap. The memory budget counts them as this says.
    ::mallopt(M_MMAP_THRESHOLD, static_cast<int>(MemoryBudget::kMmapThreshold));
    try {
        return run(argc, argv);
    } catch (const OptionError &e) {
        // The reason may quote the file (a key, a value): escaped like every log line, which
        // also keeps STATUS= one line.
        const std::string why = escapeText(e.what());
        std::fprintf(stderr, "pisockd: %s\n", why.c_str());
        ::sd_notifyf(0, "STATUS=%s", why.c_str());
        return e.exitCode();
    } catch (const std::system_error &e) {
        log::error("{}", e.what());
        ::sd_notifyf(0, "STATUS=%s", escapeText(e.what()).c_str());
        return kExitOsErr;
    } catch (const std::exception &e) {
        log::error("{}", e.what());
        ::sd_notifyf(0, "STATUS=%s", escapeText(e.what()).c_str());
        return kExitSoftware;
    }
}
