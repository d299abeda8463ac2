#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "exchange.h"
#include "hex_dump.h"
#include "options.h"

namespace pisock {

// The interactive mode (stdin and stdout are terminals): a libedit prompt with line editing
// and a history kept between runs, driven by one poll() over the terminal and the socket.
// Whatever the server sends, asked for or not, is printed above the prompt without
// disturbing the line being edited. Owns the editor state; borrows the Exchange in run().
class Terminal : public ReplySink
{
public:
    static constexpr int kHistoryLines = 1000;

    Terminal(const ClientOptions &options, std::string prompt);
    ~Terminal() override;
    Terminal(const Terminal &) = delete;
    Terminal &operator=(const Terminal &) = delete;

    // Runs until quit/exit has been answered and the server closed, Ctrl-D and the last reply,
    // or a failure; returns the exit status (a failure's reason printed).
    int run(Exchange &exchange);

    void received(std::string_view bytes) override;
    void reply(std::string_view text) override;
    void warning(std::string_view text) override;

private:
    static void onLine(char *line);
    void handleLine(char *line);
    void printAbove(std::string_view text);
    void eraseEditorRows();
    void loadHistory();
    void saveHistory();
    void startLine();
    void keepTypedLine();
    void closeEditor();

    bool hex_;
    std::string prompt_;
    std::string historyPath_; // empty: no history file
    HexDump dump_;
    Exchange *exchange_ = nullptr;
    bool editing_ = false; // the callback handler is installed
    bool inputDone_ = false; // Ctrl-D
    bool lineDone_ = false; // the last key ended a line
    bool keepLine_ = false; // the half-typed line stays on the screen at the end
};

// $XDG_STATE_HOME/pisock/history, else ~/.local/state/pisock/history; "" without a home.
std::string historyPath();

// text with control characters shown as ^X (a line from a peer must not drive the terminal).
std::string visible(std::string_view text);

} // namespace pisock
