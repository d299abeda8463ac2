#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "common/buffer.h"
#include "common/line_codec.h"
#include "common/unique_fd.h"
#include "status.h"
#include "ws_client.h"

namespace pisock {

using Clock = std::chrono::steady_clock;

// Where an Exchange delivers what the server sends.
class ReplySink
{
public:
    virtual ~ReplySink() = default;
    // Every chunk as it arrives, before any framing (--raw, --hex).
    virtual void received(std::string_view bytes) = 0;
    // One reply, or a line nobody asked for, without its line end (message modes only).
    virtual void reply(std::string_view text) = 0;
    // Something worth one line on stderr that does not end the session.
    virtual void warning(std::string_view text) = 0;
};

// Owns the connected socket and the bytes in flight both ways; borrows the sink. Driven by the
// caller's poll() loop (events(), onReady(), checkTimeout()), so reading never waits for
// writing: a server that answers a large pipelined batch cannot deadlock it.
//
// Message modes send each message and count one reply per message, in order: with line
// framing every message is sent at once (pipelined); with raw framing a reply is "what one
// read returns", so the next message waits for the reply to the previous one. Without
// replies (--no-replies: a broadcast server) messages are sent as they come, what arrives is
// delivered line by line, and the exchange ends when the server closes, as byte-stream mode
// (no framing, --raw) does, which forwards bytes both ways.
//
// How it ends (a message mode): the server's close is the end when pisock asked for it (quit
// or exit sent; without replies, the end of input) and nothing is owed; otherwise it fails
// with status 4, or with 6 when the server said why in its last line (server_line.h: such a
// line is held, not shown, until the close or the next line). A reply that is an "error: "
// line makes an otherwise complete exchange fail with 6 too.
class Exchange
{
public:
    static constexpr std::size_t kMaxReply = 16 * 1024 * 1024; // longer replies are discarded
    static constexpr std::size_t kHighWater = 256 * 1024; // queued output that pauses the source

    // framing: nothing for a byte stream. name is the server as the user wrote it. replies:
    // false when the server answers nothing (ignored for a byte stream).
    Exchange(UniqueFd socket, std::optional<Framing> framing, ReplySink &sink, std::string name,
             std::optional<std::chrono::milliseconds> timeout, bool replies = true);

    // The socket speaks WebSocket from now on (after wsHandshake()); leftover: what the server
    // sent after its 101. Each message goes out as one text frame (a byte stream's bytes as
    // binary frames), each message that comes back is one reply, and finishing sends a Close.
    void startWebSocket(Buffer leftover);

    // Queues one message (message modes; a byte stream takes it as bytes). Empty messages
    // cannot be sent with raw framing and are skipped.
    void send(std::string_view message);
    // Queues bytes as they are (byte stream).
    void sendBytes(std::string_view data);
    // Nothing more will be sent: half-close once the queue is out.
    void finish();

    // True while the caller should read more from its source.
    [[nodiscard]] bool wantsInput() const noexcept;
    [[nodiscard]] int fd() const noexcept { return socket_.get(); }
    // The poll() events to wait for on fd().
    [[nodiscard]] short events() const noexcept;
    // Does the I/O that poll() reported ready.
    void onReady(short revents, Clock::time_point now);
    // Fails the exchange once a reply is overdue.
    void checkTimeout(Clock::time_point now);
    // How long poll() may sleep before checkTimeout() has something to do; -1: forever.
    [[nodiscard]] int pollTimeoutMs(Clock::time_point now) const;

    // Done: everything sent and answered (byte stream: the server closed). Failed: see failure().
    [[nodiscard]] bool done() const noexcept { return state_ == State::Done; }
    [[nodiscard]] bool failed() const noexcept { return state_ == State::Failed; }
    [[nodiscard]] const Failure &failure() const noexcept { return failure_; }
    [[nodiscard]] std::size_t sent() const noexcept { return sent_; }
    [[nodiscard]] std::size_t outstanding() const noexcept { return outstanding_; }
    // The last message sent was quit or exit.
    [[nodiscard]] bool quitSent() const noexcept { return quitSent_; }
    // The server closed its side (EOF seen).
    [[nodiscard]] bool closedByPeer() const noexcept { return peerEof_; }

private:
    enum class State { Running, Done, Failed };

    void readSome(Clock::time_point now);
    void writeSome();
    void decode(Clock::time_point now);
    void decodeFrames(Clock::time_point now);
    void deliver(std::optional<std::string_view> text, Clock::time_point now);
    void onEof(Clock::time_point now);
    void promote(Clock::time_point now);
    void update();
    void complete();
    void onServerClosed();
    void fail(int status, std::string reason);
    void releaseReason();
    [[nodiscard]] std::optional<Clock::time_point> deadline() const;
    [[nodiscard]] bool messageMode() const noexcept { return codec_.has_value(); }
    // Replies are counted: a message mode, and replies expected.
    [[nodiscard]] bool counting() const noexcept { return codec_.has_value() && expectReplies_; }

    UniqueFd socket_;
    std::optional<LineCodec> codec_; // nothing: byte stream
    std::optional<WsClient> ws_; // a ws:// session
    bool closeSent_ = false; // ws: our Close frame is queued
    ReplySink &sink_;
    std::string name_;
    std::optional<std::chrono::milliseconds> timeout_;
    bool expectReplies_;
    Buffer in_;
    Buffer out_;
    std::deque<std::string> waiting_; // raw framing: messages behind the one in flight
    std::size_t waitingBytes_ = 0;
    std::size_t sent_ = 0;
    std::size_t replies_ = 0;
    std::size_t outstanding_ = 0;
    std::size_t linesReceived_ = 0;
    std::size_t errorReplies_ = 0;
    std::string firstErrorReply_;
    std::optional<std::string> reason_; // a close reason, held until the close or the next line
    Clock::time_point lastActivity_ = Clock::now();
    State state_ = State::Running;
    Failure failure_;
    bool finishing_ = false; // finish() called
    bool shutDown_ = false; // SHUT_WR done
    bool sendFailed_ = false; // the server stopped taking bytes; what is left is dropped
    bool peerEof_ = false;
    bool quitSent_ = false; // the last message sent was quit or exit
};

} // namespace pisock
