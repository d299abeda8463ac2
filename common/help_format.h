#pragma once

#include <CLI/CLI.hpp>

namespace pisock {

// --help of pisockd and pisock as a man page's OPTIONS reads: each option with its value's
// name (no "...", no "Excludes:"/"Needs:": the error for a wrong combination says it), its
// description wrapped to 80 columns below the name column, columns counted as a terminal
// shows them (a Chinese character takes two).
class HelpFormatter : public CLI::Formatter
{
public:
    static constexpr std::size_t kWidth = 80;
    static constexpr std::size_t kNameColumn = 30;

    HelpFormatter() { column_width(kNameColumn); }
    std::string make_option_opts(const CLI::Option *opt) const override;
    std::string make_option(const CLI::Option *opt, bool isPositional) const override;
    std::string make_subcommand(const CLI::App *sub) const override;
    // The description and the footer as paragraphs, each wrapped to 80 columns (the line
    // breaks written inside a paragraph are not kept; blank lines are).
    std::string make_description(const CLI::App *app) const override;
    std::string make_footer(const CLI::App *app) const override;

private:
    // "  NAME" then desc wrapped in the right column ("NAME" alone on its line if too long).
    static std::string entry(const std::string &name, const std::string &desc);
};

} // namespace pisock
