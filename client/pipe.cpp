#include "pipe.h"

#include <cerrno>
#include <cstdio>
#include <poll.h>
#include <unistd.h>

#include "common/units.h"
#include "i18n.h"

namespace pisock {

namespace {

constexpr std::size_t kMaxInputLine = Exchange::kMaxReply;
constexpr std::size_t kReadSize = 64 * kKiB;

// Reads what stdin has and queues it; returns false at end of input.
bool readInput(Exchange &exchange, Buffer &input, LineCodec *lines, ReplySink &sink)
{
    const auto span = input.writable(kReadSize);
    const ssize_t n = ::read(STDIN_FILENO, span.data(), span.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n < 0)
        sink.warning(
                trf("cannot read the input: {reason}", fmt::arg("reason", localErrnoText(errno))));
    if (n <= 0) {
        if (lines) {
            if (auto last = lines->finish(input))
                exchange.send(*last); // an unterminated last line is a message too
        }
        exchange.finish();
        return false;
    }
    input.commit(static_cast<std::size_t>(n));
    if (!lines) {
        exchange.sendBytes(input.view());
        input.consume(input.readable());
        return true;
    }
    std::string_view line;
    for (;;) {
        const auto result = lines->next(input, line);
        if (result == LineCodec::Result::NeedMore)
            break;
        if (result == LineCodec::Result::TooLong)
            sink.warning(trf("an input line longer than {bytes} bytes was not sent",
                             fmt::arg("bytes", kMaxInputLine)));
        else
            exchange.send(line);
    }
    return true;
}

} // namespace

int writeAll(int fd, std::string_view data)
{
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n > 0) {
            data.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            pollfd p{ fd, POLLOUT, 0 };
            ::poll(&p, 1, -1);
            continue;
        }
        return n < 0 ? errno : EIO;
    }
    return 0;
}

void StdoutSink::received(std::string_view bytes)
{
    if (hex_)
        pending_ += dump_.format(bytes);
    else if (stream_)
        pending_ += bytes;
}

void StdoutSink::reply(std::string_view text)
{
    if (hex_)
        return;
    pending_ += text;
    pending_ += '\n';
}

void StdoutSink::warning(std::string_view text)
{
    flush(); // keep stdout and stderr in the order things happened
    std::fprintf(stderr, "pisock: %.*s\n", static_cast<int>(text.size()), text.data());
}

int StdoutSink::flush()
{
    const int err = writeAll(STDOUT_FILENO, pending_);
    pending_.clear();
    if (err != 0)
        writeError_ = err;
    return err;
}

int StdoutSink::close()
{
    if (hex_)
        pending_ += dump_.finish();
    return flush();
}

int runPipe(Exchange &exchange, StdoutSink &sink, const ClientOptions &options)
{
    const bool stream = options.raw;
    Buffer input;
    LineCodec lines(Framing::Line, kMaxInputLine);
    bool inputOpen = !options.listenOnly;
    if (!options.messages.empty()) {
        for (const auto &m : options.messages)
            exchange.send(m);
        exchange.finish();
        inputOpen = false;
    }

    while (!exchange.done() && !exchange.failed()) {
        pollfd fds[2] = {
            { exchange.fd(), exchange.events(), 0 },
            { inputOpen && exchange.wantsInput() ? STDIN_FILENO : -1, POLLIN, 0 },
        };
        const int n = ::poll(fds, 2, exchange.pollTimeoutMs(Clock::now()));
        if (n < 0 && errno != EINTR) {
            sink.warning(trf("poll: {reason}", fmt::arg("reason", localErrnoText(errno))));
            return kStatusNetwork;
        }
        const auto now = Clock::now();
        if (n > 0 && fds[1].revents != 0)
            inputOpen = readInput(exchange, input, stream ? nullptr : &lines, sink);
        if (n > 0 && fds[0].revents != 0)
            exchange.onReady(fds[0].revents, now);
        exchange.checkTimeout(now);
        if (const int err = sink.flush(); err != 0) {
            std::fprintf(stderr, "pisock: %s\n",
                         trf("cannot write the output: {reason}",
                             fmt::arg("reason", localErrnoText(err)))
                                 .c_str());
            return kStatusNetwork;
        }
    }
    sink.close();
    if (exchange.failed()) {
        std::fprintf(stderr, "pisock: %s\n", exchange.failure().reason.c_str());
        return exchange.failure().status;
    }
    return kStatusOk;
}

} // namespace pisock
