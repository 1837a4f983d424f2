from pages._common import header, run_page


def body(ctx):
    header(ctx, ctx.t("page_compare"))


run_page("compare", body)
