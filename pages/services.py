from pages._common import header, run_page


def body(ctx):
    header(ctx, ctx.t("page_services"))


run_page("services", body)
