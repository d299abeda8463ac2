// The Exchange over a socketpair: the test plays the server on the other end and drives the
// poll loop itself.

#include "client/exchange.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/catch.h"
#include "tests/support/socket_pair.h"

using namespace pisock;
using pisock::test::SocketPair;
using namespace std::chrono_literals;

namespace {

struct Recorder : ReplySink {
    std::string bytes;
    std::vector<std::string> replies;
    std::vector<std::string> warnings;
    void received(std::string_view b) override { bytes += b; }
    void reply(std::string_view t) override { replies.emplace_back(t); }
    void warning(std::string_view t) override { warnings.emplace_back(t); }
};

// Runs the exchange's side until it has nothing ready (poll timeout 0).
void pump(Exchange &ex)
{
    for (int i = 0; i < 100; ++i) {
        pollfd p{ ex.fd(), ex.events(), 0 };
        if (p.events == 0 || ::poll(&p, 1, 0) <= 0)
            return;
        ex.onReady(p.revents, Clock::now());
    }
}

std::string drain(int fd)
{
    std::string out;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0)
        out.append(buf, static_cast<std::size_t>(n));
    return out;
}

void write(int fd, std::string_view s)
{
    REQUIRE(::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size()));
}

} // namespace

TEST_CASE("line framing: every message goes out at once, replies are counted in order",
          "[client][exchange]")
{
    SocketPair p;
    Recorder r;
    Exchange ex(std::move(p.subject), Framing::Line, r, "test", std::nullopt);
    ex.send("one");
    ex.send("");
    ex.send("three");
    ex.finish();
    CHECK(ex.outstanding() == 3);
    pump(ex);
    CHECK(drain(p.peer.get()) == "one\n\nthree\n"); // all three before any reply
    CHECK_FALSE(ex.done());

    write(p.peer.get(), "r1\nr2\r\nr");
    pump(ex);
    CHECK(r.replies == std::vector<std::string>{ "r1", "r2" });
    CHECK(ex.outstanding() == 1);
    write(p.peer.get(), "3\n");
    pump(ex);
    CHECK(r.replies.size() == 3);
    CHECK(r.replies[2] == "r3");
    CHECK(ex.done());
    CHECK(r.bytes == "r1\nr2\r\nr3\n");
}

TEST_CASE("after finish() the socket is half-closed once everything is sent", "[client][exchange]")
{
    SocketPair p;
    Recorder r;
    Exchange ex(std::move(p.subject), Framing::Line, r, "test", std::nullopt);
    ex.send("last");
    ex.finish();
    pump(ex);
    char buf[16];
    CHECK(::read(p.peer.get(), buf, sizeof(buf)) == 5);
    CHECK(::read(p.peer.get(), buf, sizeof(buf)) == 0); // EOF: SHUT_WR
}

TEST_CASE("raw framing: one message at a time, each read is its reply", "[client][exchange]")
{
    SocketPair p;
    Recorder r;
    Exchange ex(std::move(p.subject), Framing::Raw, r, "test", std::nullopt);
    ex.send("hello");
    ex.send("");
    ex.send("world");
    ex.finish();
    pump(ex);
    CHECK(drain(p.peer.get()) == "hello"); // no newline, and the next waits
    write(p.peer.get(), "server rec: hello");
    pump(ex);
    CHECK(r.replies == std::vector<std::string>{ "server rec: hello" });
    CHECK(drain(p.peer.get()) == "world"); // the empty message cannot be sent: skipped
    write(p.peer.get(), "server rec: world\n");
    pump(ex);
    CHECK(r.replies.size() == 2);
    CHECK(r.replies[1] == "server rec: world");
    CHECK(ex.done());
}

TEST_CASE("lines nobody asked for are delivered and not counted", "[client][exchange]")
{
    SocketPair p;
    Recorder r;
    Exchange ex(std::move(p.subject), Framing::Line, r, "test", std::nullopt);
    write(p.peer.get(), "alice: hi\n");
    pump(ex);
    CHECK(r.replies == std::vector<std::string>{ "alice: hi" });
    CHECK(ex.outstanding() == 0);
    CHECK_FALSE(ex.done());
    drain(p.peer.get());
    p.peer.reset();
    pump(ex); // closed with nothing owed, before finish(): the terminal calls it the end
    REQUIRE(ex.failed());
    CHECK(ex.failure().status == kStatusClosedEarly);
    CHECK(ex.failure().reason == "the server closed the connection");
}

TEST_CASE("without replies: messages go out, lines are delivered, done when the server closes",
          "[client][exchange]")
{
    SocketPair p;
    Recorder r;
    Exchange ex(std::move(p.subject), Framing::Line, r, "test", 50ms, false);
    ex.send("hello all");
    ex.send("quit");
    CHECK(ex.outstanding() == 0);
    pump(ex);
    CHECK(drain(p.peer.get()) == "hello all\nquit\n");
    CHECK(ex.pollTimeoutMs(Clock::now()) == -1); // nothing is awaited: no deadline
    write(p.peer.get(), "192.0.2.1:5000: hi\n");
    pump(ex);
    CHECK(r.replies == std::vector<std::string>{ "192.0.2.1:5000: hi" });
    CHECK_FALSE(ex.done());
    p.peer.reset(); // after quit, the server closes: the end, not a failure
    pump(ex);
    CHECK(ex.done());
    CHECK(ex.closedByPeer());
    CHECK_FALSE(ex.failed());
}

TEST_CASE("without replies the end of input half-closes, and the timeout bounds the wait for the "
          "server to close",
          "[client][exchange]")
{
    SocketPair p;
    Recorder r;
    Exchange ex(std::move(p.subject), Framing::Line, r, "test", 20ms, false);
    ex.send("last words");
    ex.finish();
    pump(ex);
    char buf[32];
    CHECK(::read(p.peer.get(), buf, sizeof(buf)) == 11);
    CHECK(::read(p.peer.get(), buf, sizeof(buf)) == 0); // EOF: SHUT_WR
    CHECK_FALSE(ex.done());
    CHECK(ex.pollTimeoutMs(Clock::now()) >= 0);
    ex.checkTimeout(Clock::now() + 1s);
    REQUIRE(ex.failed());
    CHECK(ex.failure().status == kStatusTimeout);
    CHECK(ex.failure().reason == "nothing from test within 20ms after the end of input");
}

TEST_CASE("an unterminated last reply before EOF counts", "[client][exchange]")
{
    SocketPair p;
    Recorder r;
    Exchange ex(std::move(p.subject), Framing::Line, r, "test", std::nullopt);
    ex.send("a");
    ex.send("b");
    ex.finish();
    pump(ex);
    drain(p.peer.get()); // closing with unread bytes would be a reset, not an EOF
    write(p.peer.get(), "ra\nunterminated");
    p.peer.reset();
    pump(ex);
    CHECK(r.replies == std::vector<std::string>{ "ra", "unterminated" });
    CHECK(ex.done()); // the unterminated last line was the second reply
    CHECK(ex.closedByPeer());
}

TEST_CASE("EOF with replies owed reports how many came", "[client][exchange]")
{
    SocketPair p;
    Recorder r;
    Exchange ex(std::move(p.subject), Framing::Line, r, "test", std::nullopt);
    ex.send("a");
    ex.send("b");
    ex.send("c");
    ex.finish();
    pump(ex);
    drain(p.peer.get());
    write(p.peer.get(), "ra\n");
    p.peer.reset();
    pump(ex);
    REQUIRE(ex.failed());
    CHECK(ex.failure().status == kStatusClosedEarly);
    CHECK(ex.failure().reason == "the server closed the connection after 1 of 3 replies");
}

TEST_CASE("a reply overdue past the timeout fails with status 3", "[client][exchange]")
{
    SocketPair p;
    Recorder r;
    Exchange ex(std::move(p.subject), Framing::Line, r, "test", 1ms);
    CHECK(ex.pollTimeoutMs(Clock::now()) == -1); // nothing owed: no deadline
    ex.send("a");
    pump(ex);
    CHECK(ex.pollTimeoutMs(Clock::now()) >= 0);
    ex.checkTimeout(Clock::now() + 1s);
    REQUIRE(ex.failed());
    CHECK(ex.failure().status == kStatusTimeout);
    CHECK(ex.failure().reason == "no reply from test within 1ms (0 of 1 replies received)");
}

TEST_CASE("an over-long reply is discarded with a warning and still counted", "[client][exchange]")
{
    SocketPair p;
    Recorder r;
    Exchange ex(std::move(p.subject), Framing::Line, r, "test", std::nullopt);
    ex.send("big");
    ex.send("small");
    pump(ex);
    const std::string chunk(64 * 1024, 'x');
    std::size_t written = 0;
    while (written <= Exchange::kMaxReply) {
        const ssize_t n = ::write(p.peer.get(), chunk.data(), chunk.size());
        if (n > 0)
            written += static_cast<std::size_t>(n);
        pump(ex);
    }
    write(p.peer.get(), "\nok\n");
    pump(ex);
    CHECK(r.warnings.size() == 1);
    CHECK(r.replies == std::vector<std::string>{ "ok" });
    CHECK(ex.outstanding() == 0);
}

TEST_CASE("byte stream: bytes both ways, done when the server closes", "[client][exchange]")
{
    SocketPair p;
    Recorder r;
    Exchange ex(std::move(p.subject), std::nullopt, r, "test", std::nullopt);
    ex.sendBytes(std::string("raw\0bytes", 9));
    ex.finish();
    pump(ex);
    CHECK(drain(p.peer.get()) == std::string("raw\0bytes", 9));
    write(p.peer.get(), "back\n");
    pump(ex);
    CHECK(r.bytes == "back\n");
    CHECK(r.replies.empty());
    CHECK_FALSE(ex.done());
    p.peer.reset();
    pump(ex);
    CHECK(ex.done());
}

TEST_CASE("the source is paused past the high-water mark", "[client][exchange]")
{
    SocketPair p;
    Recorder r;
    Exchange ex(std::move(p.subject), Framing::Line, r, "test", std::nullopt);
    CHECK(ex.wantsInput());
    ex.send(std::string(Exchange::kHighWater, 'x'));
    CHECK_FALSE(ex.wantsInput());
    pump(ex);
    drain(p.peer.get());
    pump(ex);
    drain(p.peer.get());
    pump(ex);
    CHECK(ex.wantsInput());
}

TEST_CASE("a reply that is an error line fails the exchange with status 6 once all are in",
          "[client][exchange]")
{
    SocketPair p;
    Recorder r;
    Exchange ex(std::move(p.subject), Framing::Line, r, "test", std::nullopt);
    ex.send("a");
    ex.send("b");
    ex.finish();
    pump(ex);
    drain(p.peer.get());
    write(p.peer.get(), "server rec: a\nerror: message too long (limit 4 bytes)\n");
    pump(ex);
    // Shown where the reply goes, counted as the reply.
    CHECK(r.replies ==
          std::vector<std::string>{ "server rec: a", "error: message too long (limit 4 bytes)" });
    REQUIRE(ex.failed());
    CHECK(ex.failure().status == kStatusServerError);
    CHECK(ex.failure().reason ==
          "the server refused 1 of 2 messages: error: message too long (limit 4 bytes)");
}

TEST_CASE("a close reason is not a reply: the close reports it with status 6", "[client][exchange]")
{
    for (const std::string reason : { "error: server busy", "error: not allowed",
                                      "error: idle timeout (300 s)", "error: server stopping" }) {
        SocketPair p;
        Recorder r;
        Exchange ex(std::move(p.subject), Framing::Line, r, "test", std::nullopt);
        ex.send("a");
        ex.finish();
        pump(ex);
        drain(p.peer.get());
        write(p.peer.get(), reason + "\n");
        pump(ex);
        CHECK(r.replies.empty());
        CHECK(ex.outstanding() == 1);
        CHECK_FALSE(ex.failed());
        p.peer.reset();
        pump(ex);
        REQUIRE(ex.failed());
        CHECK(ex.failure().status == kStatusServerError);
        CHECK(ex.failure().reason == "the server closed the connection: " + reason);
        CHECK(r.warnings.empty());
    }
}

TEST_CASE("a close reason the server does not close after is shown as a warning",
          "[client][exchange]")
{
    SocketPair p;
    Recorder r;
    Exchange ex(std::move(p.subject), Framing::Line, r, "test", std::nullopt, false);
    write(p.peer.get(), "error: server busy\nbob: hi\n");
    pump(ex);
    CHECK(r.warnings == std::vector<std::string>{ "the server sent: error: server busy" });
    CHECK(r.replies == std::vector<std::string>{ "bob: hi" });
    CHECK_FALSE(ex.failed());
}

TEST_CASE("a look-alike is an ordinary line: 'error: idle timeouts' is no close reason",
          "[client][exchange]")
{
    SocketPair p;
    Recorder r;
    Exchange ex(std::move(p.subject), Framing::Line, r, "test", std::nullopt, false);
    write(p.peer.get(), "error: idle timeouts\nerror: 3 messages dropped\n");
    pump(ex);
    CHECK(r.replies ==
          std::vector<std::string>{ "error: idle timeouts", "error: 3 messages dropped" });
    CHECK(r.warnings.empty());
}

TEST_CASE("without replies, a close pisock did not ask for fails: 4 without a reason, 6 with one",
          "[client][exchange]")
{
    SECTION("no reason")
    {
        SocketPair p;
        Recorder r;
        Exchange ex(std::move(p.subject), Framing::Line, r, "test", std::nullopt, false);
        write(p.peer.get(), "bob: hi\n");
        p.peer.reset();
        pump(ex);
        REQUIRE(ex.failed());
        CHECK(ex.failure().status == kStatusClosedEarly);
        CHECK(ex.failure().reason == "the server closed the connection");
    }
    SECTION("a reason")
    {
        SocketPair p;
        Recorder r;
        Exchange ex(std::move(p.subject), Framing::Line, r, "test", std::nullopt, false);
        write(p.peer.get(), "bob: hi\nerror: server stopping\n");
        p.peer.reset();
        pump(ex);
        REQUIRE(ex.failed());
        CHECK(ex.failure().status == kStatusServerError);
        CHECK(ex.failure().reason == "the server closed the connection: error: server stopping");
        CHECK(r.replies == std::vector<std::string>{ "bob: hi" });
    }
}

TEST_CASE("quit sent, nothing owed: the server's close is the end", "[client][exchange]")
{
    SocketPair p;
    Recorder r;
    Exchange ex(std::move(p.subject), Framing::Line, r, "test", std::nullopt);
    ex.send("quit");
    pump(ex);
    drain(p.peer.get());
    write(p.peer.get(), "server rec: quit\n");
    p.peer.reset();
    pump(ex);
    CHECK(ex.done());
}

TEST_CASE("a server that answers nothing before closing gets the broadcast hint",
          "[client][exchange]")
{
    SocketPair p;
    Recorder r;
    Exchange ex(std::move(p.subject), Framing::Line, r, "test", std::nullopt);
    ex.send("hi");
    ex.finish();
    pump(ex);
    drain(p.peer.get());
    p.peer.reset();
    pump(ex);
    REQUIRE(ex.failed());
    CHECK(ex.failure().status == kStatusClosedEarly);
    CHECK(ex.failure().reason ==
          "the server closed the connection without answering any of 1 messages; a broadcast "
          "server answers nothing: add --no-replies, or use --listen-only to only listen");
}
