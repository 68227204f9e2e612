# Sphinx settings of the course website. `make site` (website/build.py) copies this file and
# the pages of website/ into build/site/source/, adds the notebook pages and the pages made
# from README.md, and runs sphinx-build. Everything the pages load is local: the theme's files,
# MathJax from the sphinx-mathjax-offline package, the search index. No request leaves the site.

project = "Dead ReLU units — a hands-on course"
html_title = "Dead ReLU units"
author = "the course's authors"
copyright = "the course's authors"

extensions = ["myst_nb"]
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "_mathjax"]

# MyST: $math$, headings with anchors (h1-h3) that pages link to, ::: fences.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# The notebooks come executed by the build (the reference runs); myst-nb never runs them.
nb_execution_mode = "off"
nb_output_stderr = "remove"
nb_ipywidgets_js = {}  # no widget manager from a CDN: widgets arrive as static pictures

# MathJax 3 from the installed sphinx-mathjax-offline package, copied into _static/mathjax.
html_static_path = ["_mathjax"]
mathjax_path = "mathjax/tex-chtml.js"
# textmacros: `\_` inside `\text{fan\_in}` as JupyterLab renders it. (Sphinx adds the classes to typeset.)
mathjax3_config = {
    "loader": {"load": ["[tex]/textmacros"]},
    "tex": {"packages": {"[+]": ["textmacros"]}},
    "options": {"processHtmlClass": "tex2jax_process|mathjax_process|math|output_area"},
}

html_theme = "sphinx_book_theme"
html_favicon = "favicon.svg"  # ReLU: flat at 0, then rising
html_copy_source = True
html_sourcelink_suffix = ""  # the download button gives the page's notebook itself
html_last_updated_fmt = None
html_context = {"default_mode": "light"}  # a set mode: the theme logs an error for an unset one
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "launch_buttons": {},
    "navigation_with_keys": False,
    "search_bar_text": "Search the course…",
}

if tags.has("solutions"):  # noqa: F821 (Sphinx provides `tags`)
    html_title = "Dead ReLU units — INSTRUCTORS' EDITION"
    html_theme_options["announcement"] = (
        "Instructors' edition: every page shows the solutions and the hidden tests. "
        "Do not publish it where students can see it before the deadline."
    )
