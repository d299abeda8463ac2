#include "listener.h"

#include <algorithm>
#include <cstdio>
#include <poll.h>

#include "exchange.h"
#include "i18n.h"
#include "pipe.h"
#include "session.h"

namespace pisock {

namespace {

void say(const std::string &text)
{
    std::fprintf(stderr, "pisock: %s\n", text.c_str());
}

// Sleeps for wait; a signal that ends pisock ends it too.
void pause(std::chrono::seconds wait)
{
    const auto until = Clock::now() + wait;
    for (auto now = Clock::now(); now < until; now = Clock::now()) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - now);
        ::poll(nullptr, 0, static_cast<int>(left.count()));
    }
}

} // namespace

std::chrono::seconds nextRetry(std::chrono::seconds wait)
{
    return std::min(wait * 2, std::chrono::seconds(kMaxRetry));
}

int runListener(const ClientOptions &options)
{
    const std::string name = options.endpoint.toString();
    std::optional<Framing> framing = options.framing;
    auto wait = kFirstRetry;
    bool connectedBefore = false;
    for (;;) {
        Failure failure;
        Session session; // a new one each time: TLS, the WebSocket handshake
        int status = kStatusOk;
        if (session.open(options, failure)) {
            if (connectedBefore)
                say(trf("connected to {server} again", fmt::arg("server", name)));
            connectedBefore = true;
            wait = kFirstRetry;
            StdoutSink sink(options.hex, false);
            Exchange exchange(std::move(session.socket), framing, sink, name, std::nullopt, false);
            session.start(exchange, options);
            status = runPipe(exchange, sink, options); // the reason is printed
            if (status == kStatusOk || sink.writeError() != 0)
                return status; // nobody reads what pisock prints: no point listening
        } else {
            status = failure.status;
            say(failure.reason);
        }
        if (!options.reconnect)
            return status;
        say(trf("connecting again in {time}",
                fmt::arg("time", formatDuration(std::chrono::milliseconds(wait)))));
        pause(wait);
        wait = nextRetry(wait);
    }
}

} // namespace pisock
