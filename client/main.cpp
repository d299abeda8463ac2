// pisock: the client. Parses the command line, connects, and runs the
// interactive mode on a terminal or the pipelined mode otherwise.

#include <cstdio>
#include <exception>
#include <unistd.h>

#include "bench.h"
#include "common/room_names.h"
#include "exchange.h"
#include "i18n.h"
#include "listener.h"
#include "options.h"
#include "pipe.h"
#include "session.h"
#include "status.h"
#include "terminal.h"

namespace pisock {

namespace {

int run(const ClientOptions &options)
{
    if (options.listenOnly)
        return runListener(options);
    Failure failure;
    // Declared before the exchange, so destroyed after it: a TLS relay ends once the exchange
    // has closed the socket.
    Session session;
    if (!session.open(options, failure)) {
        std::fprintf(stderr, "pisock: %s\n", failure.reason.c_str());
        return failure.status;
    }
    const std::string name = options.endpoint.toString();
    std::optional<Framing> framing;
    if (!options.raw)
        framing = options.framing;

    const bool interactive = options.messages.empty() && !options.raw && ::isatty(STDIN_FILENO) &&
                             ::isatty(STDOUT_FILENO);
    if (interactive) {
        Terminal terminal(options, name + "> ");
        Exchange exchange(std::move(session.socket), framing, terminal, name, options.timeout,
                          !options.noReplies);
        session.start(exchange, options);
        if (!options.name.empty())
            exchange.sendBytes(nameLine(options.name));
        return terminal.run(exchange);
    }
    StdoutSink sink(options.hex, options.raw);
    Exchange exchange(std::move(session.socket), framing, sink, name, options.timeout,
                      !options.noReplies);
    session.start(exchange, options);
    if (!options.name.empty())
        exchange.sendBytes(nameLine(options.name)); // no reply unless refused
    return runPipe(exchange, sink, options);
}

} // namespace

} // namespace pisock

int main(int argc, char **argv)
{
    using namespace pisock;
    // SIGPIPE stays as it is: `pisock | head -1` ends quietly like cat when the reader goes
    // away. The socket is written with MSG_NOSIGNAL, so a server that leaves never kills us.
    try {
        setUpLocale();
        const CommandLine cmd = parseCommandLine(argc, argv);
        if (cmd.exitNow)
            return kStatusOk;
        if (cmd.bench)
            return runBenchCommand(cmd.benchOptions);
        return run(cmd.options);
    } catch (const UsageError &e) {
        std::fprintf(stderr, "pisock: %s\n", e.what());
        return kStatusUsage;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "pisock: %s\n",
                     trf("internal error: {reason}", fmt::arg("reason", e.what())).c_str());
        return kStatusNetwork;
    }
}
