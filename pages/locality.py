from pages._common import header, run_page


def body(ctx):
    header(ctx, ctx.t("page_locality"))


run_page("locality", body)
