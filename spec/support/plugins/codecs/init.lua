vcli.command{
  name = "codecs", summary = "decode and encode JSON and YAML",
  handler = function(ctx)
    local v = vcli.json.decode('{"items":[{"name":"a"},{"name":"b"}]}')
    local y = vcli.yaml.decode("kind: Pod\nspec:\n  containers: [web, sidecar]\n", "pod.yaml")
    local _, jerr = vcli.json.decode("{bad")
    local _, yerr = vcli.yaml.decode("a: [1\nb: 2\n", "broken.yaml")
    ctx.print(v.items[2].name, y.spec.containers[2], vcli.json.encode({ n = 1 }))
    ctx.print(jerr)
    ctx.print(yerr)
  end,
}
