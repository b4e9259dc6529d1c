"""The documentation site: pages generated from the apps, the declared tables and the recipes
(`python -m docs_site`), the mkdocs hooks that include the spec and the repository's files,
and the browser check of the built site (`python -m docs_site.browser`)."""
