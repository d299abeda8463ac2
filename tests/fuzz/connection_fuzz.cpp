// libFuzzer target: a Connection with the reply or echo service, fed arbitrary bytes in
// arbitrary chunks over a socketpair by a peer that reads when the input says so, with small
// limits so that backpressure, the read budget and over-long lines all happen. Checks:
// - reply mode, line framing: exactly one reply per message, in order (line_model.h), and
//   nothing after quit; echo: every byte back, in order; raw framing: each read back behind
//   the prefix, its line ending as received (exactly, with an empty prefix);
// - buffered output and input stay within the limits at every step;
// - after the peer's half-close the connection sends everything and closes, in bounded time;
// - the peer's address, chosen by the input (a unix client may bind to any name, including
//   newlines and escapes), names it "unix" or by its IP address, and no log field about it,
//   with any message text, holds a control character or invalid UTF-8.

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fuzzer/FuzzedDataProvider.h>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/address.h"
#include "common/safe_text.h"
#include "daemon/connection.h"
#include "daemon/log.h"
#include "daemon/services.h"
#include "tests/fuzz/invariant.h"
#include "tests/fuzz/line_model.h"

using namespace pisock;
using pisock::fuzz::check;
using pisock::fuzz::fail;

namespace {

enum class Kind { ReplyLine, ReplyRaw, Echo };

// Owns the connection the way the server does; plays its peer.
struct Harness : ConnectionOwner {
    EventLoop loop;
    ConnectionLimits limits;
    ReplyConfig config;
    UniqueFd peer;
    std::unique_ptr<Connection> owned;
    Connection *conn = nullptr;
    bool closed = false;
    std::string sent; // bytes the connection was given
    std::string got; // bytes it sent back
    bool peerEof = false;
    bool writeFailed = false;

    void onClosed(Connection &) noexcept override
    {
        closed = true;
        loop.retire(std::move(owned));
    }
    void onLinger(Connection &) noexcept override {}
    void onMemoryWait(Connection &) noexcept override {} // no budget: never told

    void write(const std::string &chunk)
    {
        if (writeFailed)
            return;
        const ssize_t n =
                ::send(peer.get(), chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0)
            sent.append(chunk, 0, static_cast<std::size_t>(n));
        else if (n < 0 && errno != EAGAIN)
            writeFailed = true; // the connection is gone (after quit)
    }

    void read(std::size_t most)
    {
        char buf[4096];
        while (most > 0 && !peerEof) {
            const ssize_t n = ::recv(peer.get(), buf, std::min(most, sizeof(buf)), MSG_DONTWAIT);
            if (n > 0) {
                got.append(buf, static_cast<std::size_t>(n));
                most -= static_cast<std::size_t>(n);
                continue;
            }
            peerEof = n == 0 || errno != EAGAIN;
            return;
        }
    }

    void turn(std::size_t maxReply)
    {
        loop.runOnce(0);
        if (closed)
            return;
        check(conn->pendingInput() <= limits.maxInput, "input over maxInput");
        check(conn->pendingOutput() < limits.highWater + maxReply, "output over high water");
    }
};

// A peer address as accept() could return it: a unix client bound to any name (a path, an
// abstract name of any bytes, or none), or any IPv4 or IPv6 address and port.
SocketAddress peerAddress(FuzzedDataProvider &input)
{
    SocketAddress addr;
    switch (input.ConsumeIntegralInRange<int>(0, 2)) {
    case 0: {
        auto *un = reinterpret_cast<sockaddr_un *>(&addr.storage);
        un->sun_family = AF_UNIX;
        const std::string name = input.ConsumeRandomLengthString(sizeof(un->sun_path));
        std::memcpy(un->sun_path, name.data(), name.size());
        addr.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
        break;
    }
    case 1: {
        auto *in = reinterpret_cast<sockaddr_in *>(&addr.storage);
        in->sin_family = AF_INET;
        in->sin_port = input.ConsumeIntegral<std::uint16_t>();
        in->sin_addr.s_addr = input.ConsumeIntegral<std::uint32_t>();
        addr.length = sizeof(*in);
        break;
    }
    default: {
        auto *in6 = reinterpret_cast<sockaddr_in6 *>(&addr.storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = input.ConsumeIntegral<std::uint16_t>();
        for (auto &b : in6->sin6_addr.s6_addr)
            b = input.ConsumeIntegral<std::uint8_t>();
        addr.length = sizeof(*in6);
        break;
    }
    }
    return addr;
}

// The journal fields of a debug line about this peer with what it sent as the message:
// escaped, one line each, valid UTF-8 (the stderr line is built from the same escaped parts).
void checkLogFields(const std::string &name, const std::string &sent)
{
    const log::Peer who{ name, 1 };
    for (const auto &field : log::journalFields(log::Level::Debug, "message: " + sent, &who)) {
        for (std::string_view rest = field; !rest.empty();) {
            const Utf8Char c = decodeUtf8(rest);
            check(c.length != 0, "invalid UTF-8 in a log field");
            check(!isUnsafeCodePoint(c.code) && c.code != '\n', "control in a log field");
            rest.remove_prefix(c.length);
        }
    }
}

// The output ends with a quit or exit message, with or without its line ending.
bool endsWithQuit(std::string_view out)
{
    for (std::string_view ending : { "", "\n", "\r\n" })
        for (std::string_view word : { "quit", "exit" })
            if (out.ends_with(std::string(word) + std::string(ending)))
                return true;
    return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    log::setLevel(log::Level::Error);
    FuzzedDataProvider input(data, size);
    const auto kind = static_cast<Kind>(input.ConsumeIntegralInRange<int>(0, 2));
    Harness h;
    h.config.maxMessage = input.ConsumeIntegralInRange<std::size_t>(4, 64);
    h.config.prefix = input.ConsumeBool() ? "server rec: " : "";
    h.limits.highWater = input.ConsumeIntegralInRange<std::size_t>(16, 1024);
    h.limits.lowWater = input.ConsumeIntegralInRange<std::size_t>(0, h.limits.highWater - 1);
    h.limits.ioBudget = input.ConsumeIntegralInRange<std::size_t>(1, 512);
    h.limits.maxInput = h.config.maxMessage + h.limits.ioBudget + 2; // as Server does
    const std::string tooLong =
            "error: message too long (limit " + std::to_string(h.config.maxMessage) + " bytes)\n";
    // What one step of a service may add past the high-water mark: one reply, or (echo) one
    // input buffer.
    const std::size_t maxReply =
            kind == Kind::Echo
                    ? h.limits.maxInput + 1
                    : std::max(h.config.prefix.size() + h.config.maxMessage + 1, tooLong.size()) +
                              1;

    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
        return 0;
    h.peer.reset(fds[1]);
    const int small = 4096; // kernel buffers that fill up quickly: backpressure happens
    for (int fd : fds) {
        ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    }
    const SocketAddress addr = peerAddress(input);
    const std::string name = formatPeer(addr); // as the server names a client
    check(addr.family() != AF_UNIX || name == "unix", "a unix client named by what it bound to");
    std::unique_ptr<Service> service;
    if (kind == Kind::Echo)
        service = std::make_unique<EchoService>();
    else
        service = std::make_unique<LineService>(
                h.config, kind == Kind::ReplyRaw ? Framing::Raw : Framing::Line, name, 1);
    h.owned = std::make_unique<Connection>(h.loop, UniqueFd(fds[0]), addr, 1, std::move(service),
                                           h.limits, h);
    h.conn = h.owned.get();
    check(h.conn->peer() == name, "the connection names its peer otherwise");
    if (h.conn->start() != 0)
        return 0;

    while (input.remaining_bytes() > 0 && !h.closed) {
        switch (input.ConsumeIntegralInRange<int>(0, 3)) {
        case 0:
        case 1:
            h.write(input.ConsumeBytesAsString(input.ConsumeIntegralInRange<std::size_t>(1, 300)));
            break;
        case 2:
            h.read(input.ConsumeIntegralInRange<std::size_t>(1, 2048));
            break;
        case 3:
            break; // just a loop turn: the connection runs while the peer does nothing
        }
        h.turn(maxReply);
    }

    // The peer says it is done, then reads everything: all replies, then the close.
    ::shutdown(h.peer.get(), SHUT_WR);
    for (int i = 0; i < 100000 && !(h.closed && h.peerEof); ++i) {
        h.turn(maxReply);
        h.read(1 << 20);
    }
    check(h.closed && h.peerEof, "no close after the peer's half-close");
    h.loop.runOnce(0); // destroys the retired connection
    checkLogFields(name, h.sent);

    switch (kind) {
    case Kind::Echo:
        check(h.got == h.sent, "echo differs from input");
        break;
    case Kind::ReplyLine: {
        std::string want;
        for (const auto &e : fuzz::modelLines(h.sent, h.config.maxMessage, true, true))
            want += e.tooLong ? tooLong : h.config.prefix + e.message + "\n";
        check(h.got == want, "replies differ from the model");
        break;
    }
    case Kind::ReplyRaw: {
        // Read boundaries are the kernel's, so a reply cannot be matched to its read. But each
        // reply is the prefix and the read exactly as received: with an empty prefix the output
        // is the input itself, up to the quit that ended the session (unless a read was too
        // long and an error line stands for it). Otherwise: at most one reply per byte sent,
        // each at most the read plus the prefix (or the error line).
        if (h.config.prefix.empty() && h.got.find("error: message too long") == std::string::npos) {
            check(h.sent.starts_with(h.got), "raw replies are not the bytes received");
            check(h.got.size() == h.sent.size() || endsWithQuit(h.got),
                  "raw replies stop before the end, without a quit");
        }
        const std::size_t perReply = std::max(h.config.prefix.size(), tooLong.size());
        check(h.got.size() <= h.sent.size() * (perReply + 1), "raw replies hold more than sent");
        break;
    }
    }
    return 0;
}
