#include "ws_page.h"

#include "ws_page_html.h" // generated from ws_page.html by embed.py

namespace pisock {

std::string_view wsPageTemplate() noexcept
{
    return { reinterpret_cast<const char *>(kWsPageHtml), sizeof kWsPageHtml };
}

std::string wsPage(Mode mode)
{
    std::string page(wsPageTemplate());
    const std::size_t at = page.find(kWsPageModeMark);
    if (at != std::string::npos)
        page.replace(at, kWsPageModeMark.size(), modeName(mode));
    return page;
}

} // namespace pisock
