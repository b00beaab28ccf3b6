"""MkDocs hooks of the documentation site (mkdocs.yml ``hooks:``); not part of the package.

The pages link the repository's ``figures/`` folder as ``../figures/...``, so the links work
on GitHub and in an editor. MkDocs only serves files under ``docs/``: :func:`on_files` adds
every file of ``figures/`` to the site as ``figures/...`` and :func:`on_page_markdown`
points the pages' links there, so ``mkdocs build --strict`` checks them like any other link.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.structure.files import File, Files

FIGURES = Path(__file__).resolve().parents[2] / "figures"


def on_files(files: Files, config, **kwargs) -> Files:
    for path in sorted(FIGURES.rglob("*")):
        if path.is_file():
            files.append(File(f"figures/{path.relative_to(FIGURES).as_posix()}", str(FIGURES.parent),
                              config["site_dir"], config["use_directory_urls"]))
    return files


def on_page_markdown(markdown: str, page, config, files, **kwargs) -> str:
    depth = page.file.src_uri.count("/")  # docs/api/x.md links ../../figures
    return markdown.replace("](" + "../" * (depth + 1) + "figures/", "](" + "../" * depth + "figures/")
