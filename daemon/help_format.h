#pragma once

#include <CLI/CLI.hpp>

namespace pisock {

// pisockd --help as a man page's OPTIONS reads: each option with its value's name (no "..."
// for repeatable ones), its description wrapped to 80 columns below the name column.
class HelpFormatter : public CLI::Formatter
{
public:
    static constexpr std::size_t kWidth = 80;
    static constexpr std::size_t kNameColumn = 30;

    HelpFormatter() { column_width(kNameColumn); }
    std::string make_option_opts(const CLI::Option *opt) const override;
    std::string make_option(const CLI::Option *opt, bool isPositional) const override;
};

} // namespace pisock
