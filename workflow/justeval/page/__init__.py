"""The results page's parts: HTML escaping and tables (``html``), inline SVG charts
(``svg``), responses cut into text and MathML (``math``), and the scripts and styles
the pages inline (``assets/``). The stages ``results_page`` and ``problem_view`` build
the pages from them."""
