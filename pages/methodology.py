from pages._common import header, run_page


def body(ctx):
    header(ctx, ctx.t("page_methodology"))


run_page("methodology", body)
