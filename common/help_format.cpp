#include "help_format.h"

#include "wrap_text.h"

namespace pisock {

namespace {

// Whether a line of text is wider than width columns.
bool tooWide(std::string_view text, std::size_t width)
{
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        if (displayWidth(text.substr(0, end)) > width)
            return true;
        if (end == std::string_view::npos)
            break;
        text.remove_prefix(end + 1);
    }
    return false;
}

// text with each paragraph (parted by blank lines) that has a line wider than width refilled
// to width: a line break inside it becomes a space between words, and nothing between
// Chinese characters. A paragraph that fits is kept as written (a table of exit statuses).
std::string paragraphs(std::string_view text, std::size_t width)
{
    std::string out;
    while (!text.empty()) {
        const std::size_t end = text.find("\n\n");
        const std::string_view para = text.substr(0, end);
        if (!tooWide(para, width)) {
            out += para;
        } else {
            std::string joined;
            for (std::size_t i = 0; i < para.size(); ++i) {
                if (para[i] != '\n') {
                    joined += para[i];
                    continue;
                }
                const bool asciiBefore = i > 0 && static_cast<unsigned char>(para[i - 1]) < 0x80;
                const bool asciiAfter = i + 1 < para.size() &&
                                        static_cast<unsigned char>(para[i + 1]) < 0x80;
                if (asciiBefore && asciiAfter)
                    joined += ' ';
            }
            out += wrapText(joined, width, 0);
        }
        out += '\n';
        if (end == std::string_view::npos)
            break;
        out += '\n';
        text.remove_prefix(end + 2);
    }
    return out;
}

} // namespace

std::string HelpFormatter::make_option_opts(const CLI::Option *opt) const
{
    // The value's name alone: CLI11 appends what a check() allows (":UINT in [1 - 100000]"),
    // which the description says in words.
    const std::string type = opt->get_type_name();
    return type.empty() ? std::string() : " " + type.substr(0, type.find(':'));
}

std::string HelpFormatter::make_option(const CLI::Option *opt, bool isPositional) const
{
    return entry(make_option_name(opt, isPositional) + make_option_opts(opt),
                 make_option_desc(opt));
}

std::string HelpFormatter::make_subcommand(const CLI::App *sub) const
{
    return entry(sub->get_name(), sub->get_description());
}

std::string HelpFormatter::make_description(const CLI::App *app) const
{
    const std::string desc = app->get_description();
    return desc.empty() ? std::string() : paragraphs(desc, kWidth);
}

std::string HelpFormatter::make_footer(const CLI::App *app) const
{
    const std::string footer = app->get_footer();
    return footer.empty() ? std::string() : paragraphs(footer, kWidth);
}

std::string HelpFormatter::entry(const std::string &name, const std::string &desc)
{
    std::string out = "  " + name;
    const std::size_t used = displayWidth(out);
    if (used + 2 > kNameColumn)
        out += "\n" + std::string(kNameColumn, ' ');
    else
        out += std::string(kNameColumn - used, ' ');
    return out + wrapText(desc, kWidth - kNameColumn, kNameColumn) + "\n";
}

} // namespace pisock
