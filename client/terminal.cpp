#include "terminal.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <editline/readline.h>
#include <filesystem>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/wrap_text.h"
#include "i18n.h"

namespace pisock {

namespace {

// libedit's callback takes no context pointer: the one Terminal that is running.
Terminal *gActive = nullptr;

} // namespace

std::string historyPath()
{
    const char *state = std::getenv("XDG_STATE_HOME");
    if (state && state[0] == '/')
        return std::string(state) + "/pisock/history";
    const char *home = std::getenv("HOME");
    if (home && home[0] == '/')
        return std::string(home) + "/.local/state/pisock/history";
    return {};
}

std::string visible(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if ((byte < 0x20 && c != '\t') || byte == 0x7f) {
            out += '^';
            out += static_cast<char>(byte ^ 0x40);
        } else {
            out += c;
        }
    }
    return out;
}

Terminal::Terminal(const ClientOptions &options, std::string prompt)
    : hex_(options.hex), prompt_(std::move(prompt)), historyPath_(historyPath())
{
}

Terminal::~Terminal()
{
    closeEditor();
}

void Terminal::loadHistory()
{
    using_history();
    stifle_history(kHistoryLines);
    if (!historyPath_.empty())
        read_history(historyPath_.c_str()); // none yet is fine
}

void Terminal::saveHistory()
{
    if (historyPath_.empty())
        return;
    std::error_code ec;
    const auto dir = std::filesystem::path(historyPath_).parent_path();
    std::filesystem::create_directories(dir, ec);
    // Written whole after each line: bounded by stifle_history(), and nothing is lost if the
    // terminal goes away.
    if (ec || write_history(historyPath_.c_str()) != 0) {
        historyPath_.clear(); // say it once
        printAbove(
                "pisock: " +
                trf("cannot save the history in {directory}", fmt::arg("directory", dir.string())) +
                "\n");
    }
}

void Terminal::onLine(char *line)
{
    if (gActive)
        gActive->handleLine(line);
    std::free(line);
}

void Terminal::handleLine(char *line)
{
    if (!line) {
        // Ctrl-D on an empty line: no more messages; the replies still owed are awaited.
        inputDone_ = true;
        exchange_->finish();
        return;
    }
    lineDone_ = true;
    if (line[0] != '\0') {
        add_history(line);
        saveHistory();
    }
    exchange_->send(line);
}

// Erases the prompt and the line being edited, all the rows it wraps over, leaving the cursor
// at the start of the first. libedit cannot do it: its refresh forgets what is on the screen.
void Terminal::eraseEditorRows()
{
    winsize ws{};
    const std::size_t columns =
            ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
    // Columns, not bytes: a Chinese character takes two columns and three bytes. rl_point is a
    // byte offset into the line (libedit converts its wide-character line for the readline API).
    const std::string_view line = rl_line_buffer ? rl_line_buffer : "";
    const std::size_t point =
            std::min(static_cast<std::size_t>(std::max(rl_point, 0)), line.size());
    const std::size_t rowsUp =
            (displayWidth(prompt_) + displayWidth(line.substr(0, point))) / columns;
    std::string seq = "\r";
    if (rowsUp > 0)
        seq += "\x1b[" + std::to_string(rowsUp) + "A";
    seq += "\x1b[J"; // erase to the end of the screen
    std::fputs(seq.c_str(), stdout);
}

// Prints text above the prompt, then draws the prompt and the half-typed line again.
void Terminal::printAbove(std::string_view text)
{
    if (editing_)
        eraseEditorRows();
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    if (!editing_)
        return;
    rl_forced_update_display();
}

void Terminal::received(std::string_view bytes)
{
    if (hex_)
        printAbove(dump_.format(bytes));
}

void Terminal::reply(std::string_view text)
{
    if (!hex_)
        printAbove(visible(text) + "\n");
}

void Terminal::warning(std::string_view text)
{
    printAbove("pisock: " + std::string(text) + "\n");
}

// libedit turns the editor off before it hands over a line and leaves it off (its next read
// would wait for a whole line): installing the handler again turns it on, empties the line
// and draws the prompt.
void Terminal::startLine()
{
    rl_callback_handler_install(prompt_.c_str(), &Terminal::onLine);
    editing_ = true;
}

// The session ends under a half-typed line: it stays on the screen and goes to the history,
// to be sent again in the next session.
void Terminal::keepTypedLine()
{
    if (!editing_ || !rl_line_buffer || rl_line_buffer[0] == '\0')
        return;
    add_history(rl_line_buffer);
    saveHistory();
    keepLine_ = true;
}

void Terminal::closeEditor()
{
    if (!editing_)
        return;
    if (inputDone_ || keepLine_)
        std::fputs("\n", stdout); // the cursor is after the prompt, or the line kept
    else
        eraseEditorRows(); // leave no prompt behind
    std::fflush(stdout);
    rl_callback_handler_remove();
    editing_ = false;
    gActive = nullptr;
}

int Terminal::run(Exchange &exchange)
{
    exchange_ = &exchange;
    rl_readline_name = "pisock";
    loadHistory();
    gActive = this;
    startLine();

    while (!exchange.done() && !exchange.failed()) {
        pollfd fds[2] = {
            { exchange.fd(), exchange.events(), 0 },
            { inputDone_ ? -1 : STDIN_FILENO, POLLIN, 0 },
        };
        const int n = ::poll(fds, 2, exchange.pollTimeoutMs(Clock::now()));
        if (n < 0 && errno != EINTR) {
            warning(trf("poll: {reason}", fmt::arg("reason", localErrnoText(errno))));
            closeEditor();
            return kStatusNetwork;
        }
        if (n > 0 && (fds[1].revents & POLLIN)) {
            lineDone_ = false;
            rl_callback_read_char();
            if (inputDone_)
                closeEditor(); // replies still owed are printed below, without a prompt
            else if (lineDone_)
                startLine();
        } else if (n > 0 && fds[1].revents != 0) {
            inputDone_ = true; // the terminal hung up: as Ctrl-D
            exchange.finish();
        }
        if (n > 0 && fds[0].revents != 0)
            exchange.onReady(fds[0].revents, Clock::now());
        exchange.checkTimeout(Clock::now());
    }
    if (hex_ && dump_.offset() > 0)
        printAbove(dump_.finish());

    int status = kStatusOk;
    if (exchange.done() && exchange.closedByPeer() && !inputDone_) {
        // After the quit the user typed: the end of the session, said as telnet says it.
        printAbove("pisock: " + std::string(tr("connection closed by server")) + "\n");
    } else if (exchange.failed()) {
        const auto &f = exchange.failure();
        // The close after the quit the user typed ends the session, even if replies were owed
        // (a broadcast server answers nothing). Any other close was not asked for.
        const bool benign = f.status == kStatusClosedEarly && exchange.quitSent();
        if (!benign)
            keepTypedLine();
        printAbove("pisock: " +
                   (benign ? std::string(tr("connection closed by server")) : f.reason) + "\n");
        status = benign ? kStatusOk : f.status;
    }
    closeEditor();
    return status;
}

} // namespace pisock
