#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/line_codec.h"
#include "common/units.h"
#include "framing_hint.h"
#include "log.h"
#include "service.h"

namespace pisock {

// What reply mode needs to know; owned by the server and changed in place on reload, so a
// new prefix or limit applies to the next message of every connection.
struct ReplyConfig {
    std::string prefix = "server rec: ";
    std::size_t maxMessage = 64 * kKiB;
    // Told of a connection whose first line has not ended yet (line framing); none: not told.
    FramingHint *framingHint = nullptr;
};

// True for the messages that end a session: exactly "quit" or "exit".
bool isQuitCommand(std::string_view message) noexcept;

// What the message modes share: line or raw framing, an unterminated last
// line at EOF, over-long messages answered with an error line, quit and exit handled like any
// message and then ending the session. What is done with each message is the subclass's.
// Owns its codec state; borrows the config.
class MessageService : public Service
{
public:
    Verdict onInput(Buffer &in, Buffer &out, std::size_t outLimit, bool eof) noexcept override;
    [[nodiscard]] std::uint64_t messages() const noexcept override { return messages_; }

protected:
    MessageService(const ReplyConfig &config, Framing framing, std::string peer, std::uint64_t id);

    // One whole message; an answer, if any, goes to out.
    virtual void onMessage(std::string_view message, Buffer &out) noexcept = 0;
    // Checked before each message: true ends this call with Verdict::Yield, input left.
    [[nodiscard]] virtual bool yieldNow() const noexcept { return false; }

    [[nodiscard]] const ReplyConfig &config() const noexcept { return config_; }
    // How the reply to the current message ends: a newline in line framing; in raw framing the
    // message's own line ending as received ("\n", "\r\n" or none), as the tutorial's server
    // answers.
    [[nodiscard]] std::string_view replyEnding() const noexcept
    {
        return codec_.framing() == Framing::Raw ? codec_.ending() : std::string_view("\n");
    }
    [[nodiscard]] const std::string &peer() const noexcept { return peer_; }
    [[nodiscard]] std::uint64_t id() const noexcept { return id_; }
    [[nodiscard]] Framing framing() const noexcept { return codec_.framing(); }
    // Appends "error: message too long (limit N bytes)\n".
    void writeTooLong(Buffer &out) noexcept;

private:
    Verdict handle(std::string_view message, Buffer &out) noexcept;
    void tooLong(Buffer &out) noexcept;
    void noteUnterminated(const Buffer &in) noexcept;

    const ReplyConfig &config_;
    LineCodec codec_;
    std::string peer_;
    std::uint64_t id_;
    std::uint64_t messages_ = 0;
    bool hinted_ = false; // told config_.framingHint about this connection
};

// Reply mode: each message M is answered with "<prefix>M\n" (raw framing: "<prefix>M" and M's
// own line ending), in order; quit and exit are answered, then end the session.
class LineService final : public MessageService
{
public:
    LineService(const ReplyConfig &config, Framing framing, std::string peer, std::uint64_t id)
        : MessageService(config, framing, std::move(peer), id)
    {
    }

private:
    void onMessage(std::string_view message, Buffer &out) noexcept override;
};

// Echo mode (RFC 862): every byte back, unchanged and in order. No framing, no commands.
class EchoService final : public Service
{
public:
    Verdict onInput(Buffer &in, Buffer &out, std::size_t outLimit, bool eof) noexcept override;
    [[nodiscard]] std::uint64_t messages() const noexcept override { return 0; }
};

} // namespace pisock
