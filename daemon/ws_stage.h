#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "chunk.h"
#include "common/buffer.h"
#include "common/memory_budget.h"
#include "common/ws_decoder.h"
#include "common/ws_frame.h"
#include "common/ws_handshake.h"
#include "service.h"

namespace pisock {

class BroadcastHub;

// What the WebSocket layer of every ws listener's connections shares; owned by the server,
// changed in place on reload.
struct WsConfig {
    std::string page; // the built-in page with the mode filled in; empty: ws-page = no
    std::vector<std::string> origins; // allowed beside the page's own and none; "*": any
    const std::size_t *maxMessage = nullptr; // --max-message, as the services see it
    MemoryBudget *memory = nullptr; // where the framed broadcast chunks are counted
    const BroadcastHub *hub = nullptr; // broadcast mode: deliveries bound a call, as for TCP
    std::string busy; // what a refused client gets instead of "error: server busy"
    std::string forbidden; // what a denied client gets instead of "error: not allowed"
};

// The HTTP error (503 for a client refused as busy: --max-connections, --max-per-host, memory
// short; 403 for one denied by --allow/--deny) a ws listener's client gets instead of a reason
// line: a browser shows it, where a line would be a broken answer. Empties the buffer pool:
// for the server's constructor.
std::string wsErrorResponse(int status);

// Broadcast mode: a chunk of lines ("peer: M\n"...) as WebSocket clients get it, one text
// frame per line without its newline. Built once per chunk, whatever the number of WebSocket
// clients it goes to (the last one is kept). Owns the last source and framed chunk; owned by
// the server, after the hub and the budget, so it goes before them.
class WsChunkFramer
{
public:
    explicit WsChunkFramer(const WsConfig &config) noexcept : config_(config) {}
    // The framed chunk for source; nullptr when memory is short.
    Chunk *framed(Chunk &source) noexcept;
    // Lets the chunks go (on shutdown, before the hub and budget).
    void reset() noexcept
    {
        source_.reset();
        framed_.reset();
    }

private:
    const WsConfig &config_;
    ChunkRef source_; // held, so that its address names it as long as the cache holds it
    ChunkRef framed_;
};

// The WebSocket layer (RFC 6455, docs/WEBSOCKET.md) of a connection on a ws listener: a Service
// wrapping the mode's Service. First the HTTP handshake: a valid upgrade from an allowed
// origin gets the 101; GET / gets the built-in page; anything else its error status; all but
// the 101 then close. Then frames: each text or binary message goes to the inner service as
// one message, what the inner service answers goes back as one message of the same kind (a
// line without its newline), and what it shares with others (broadcast) is framed on the way
// out through an Outlet of this layer's. A protocol error, an invalid UTF-8 text, or a message
// over --max-message gets a Close frame with 1002, 1007 or 1009, and the connection ends.
// Owns the inner service, the codec state and two scratch buffers; borrows the config, the
// framer and, while attached, the connection's outlet.
class WsStage final : public Service, private Outlet
{
public:
    // lines: the inner service answers with lines (reply, broadcast), whose newline a frame
    // does not carry; false: echo, every byte back as it came.
    WsStage(std::unique_ptr<Service> inner, const WsConfig &config, WsChunkFramer &framer,
            bool lines, std::string peer, std::uint64_t id);
    ~WsStage() override;
    WsStage(const WsStage &) = delete;
    WsStage &operator=(const WsStage &) = delete;

    Verdict onInput(Buffer &in, Buffer &out, std::size_t outLimit, bool eof) noexcept override;
    [[nodiscard]] std::uint64_t messages() const noexcept override { return inner_->messages(); }
    [[nodiscard]] std::uint64_t dropped() const noexcept override { return inner_->dropped(); }
    [[nodiscard]] std::string_view roomName() const noexcept override { return inner_->roomName(); }
    // Its fragmented messages are charged to the outlet's account from now on.
    void attach(Outlet &outlet) noexcept override;
    void detach() noexcept override;
    void onLowWater(Buffer &out) noexcept override;
    // Once open: line (without its newline) as a text message, then a Close 1000; before the
    // handshake is answered nothing, as a line would be a broken HTTP answer.
    void notice(Buffer &out, std::string_view line) noexcept override;
    // Once open: line as notice() sends it, then a Close 1001 (going away), so the client
    // knows the server left on purpose.
    void onStop(Buffer &out, std::string_view line) noexcept override;

private:
    enum class Phase { Handshake, Open, Closed };

    Verdict handshake(Buffer &in, Buffer &out, bool eof) noexcept;
    Verdict refuse(Buffer &out, int status, bool head, const char *why) noexcept;
    [[nodiscard]] bool originAllowed(const ws::Request &request) const noexcept;
    Verdict frames(Buffer &in, Buffer &out, std::size_t outLimit, bool eof) noexcept;
    // One whole message: false if it ended the session (quit) or could not be answered.
    bool message(const ws::Event &event, Buffer &out) noexcept;
    // Frames what the inner service wrote to reply_ as one message of kind op.
    bool sendReply(Buffer &out, ws::Opcode op) noexcept;
    Verdict close(Buffer &out, std::uint16_t code, const char *reason) noexcept;
    // The server's reason for closing, then a Close with code (notice(), onStop()).
    void closeWith(Buffer &out, std::string_view line, std::uint16_t code) noexcept;

    // Outlet, for the inner service: chunks are framed before they reach the connection's.
    [[nodiscard]] std::size_t outputCost() const noexcept override;
    [[nodiscard]] bool makeRoomFor(const Chunk &chunk) noexcept override;
    bool share(Chunk &chunk) noexcept override;
    void watchLowWater() noexcept override;
    void abort(const char *reason) noexcept override;
    [[nodiscard]] MemoryAccount *account() noexcept override;

    std::unique_ptr<Service> inner_;
    const WsConfig &config_;
    WsChunkFramer &framer_;
    bool lines_;
    std::string peer_;
    std::uint64_t id_;
    Outlet *outlet_ = nullptr;
    bool innerAttached_ = false;
    Phase phase_ = Phase::Handshake;
    ws::RequestParser parser_;
    ws::Decoder decoder_;
    ws::Encoder encoder_; // server frames: unmasked
    Buffer message_; // the message as the inner service reads it
    Buffer reply_; // what the inner service answers, before it is framed
};

} // namespace pisock
