vcli.command({ name = "nocap-hi", args = { { name = "who", optional = true } },
  handler = function(ctx) ctx.print("hi " .. (ctx.args.who or "")) end })
