#include "help_format.h"

#include "common/wrap_text.h"

namespace pisock {

std::string HelpFormatter::make_option_opts(const CLI::Option *opt) const
{
    return opt->get_type_name().empty() ? std::string() : " " + opt->get_type_name();
}

std::string HelpFormatter::make_option(const CLI::Option *opt, bool isPositional) const
{
    const std::string name = "  " + make_option_name(opt, isPositional) + make_option_opts(opt);
    std::string out = name;
    if (name.size() + 2 > kNameColumn)
        out += "\n" + std::string(kNameColumn, ' ');
    else
        out += std::string(kNameColumn - name.size(), ' ');
    return out + wrapText(make_option_desc(opt), kWidth - kNameColumn, kNameColumn) + "\n";
}

} // namespace pisock
