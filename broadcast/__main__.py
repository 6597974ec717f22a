from broadcast.cli import app

app(prog_name="loaxa")
