#pragma once

#include <string>
#include <string_view>

#include "exchange.h"
#include "hex_dump.h"
#include "options.h"

namespace pisock {

// Writes all of data to fd, waiting with poll() when fd is non-blocking. Returns 0 or an
// errno.
int writeAll(int fd, std::string_view data);

// Prints what the server sends to stdout: each reply on its own line, the bytes as they are
// (byte stream), or a hex dump. Owns the text not yet written; flush() writes it.
class StdoutSink : public ReplySink
{
public:
    StdoutSink(bool hex, bool stream) : hex_(hex), stream_(stream) {}

    void received(std::string_view bytes) override;
    void reply(std::string_view text) override;
    void warning(std::string_view text) override;
    // Writes what is pending; returns 0 or the errno of a failed write.
    int flush();
    // The end of the output: the hex dump's closing line, then flush().
    int close();
    // The errno of the last failed write to stdout, 0 if none.
    [[nodiscard]] int writeError() const noexcept { return writeError_; }

private:
    bool hex_;
    bool stream_;
    HexDump dump_;
    std::string pending_;
    int writeError_ = 0;
};

// Not on a terminal: sends the -m messages, or every line of stdin (--raw: every byte)
// without waiting for replies, half-closes after the last one and prints what comes back.
// --listen-only: reads and sends nothing, prints what comes.
// Returns the exit status; a failure's reason has been printed.
int runPipe(Exchange &exchange, StdoutSink &sink, const ClientOptions &options);

} // namespace pisock
