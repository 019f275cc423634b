-- JSON and YAML are C codecs inside every plugin's own state.
describe("plugin codecs", function()
  it("decode and encode JSON and YAML in a plugin, with positioned errors", function()
    local home = spec.tmpdir()
    local out, code = spec.sh(("HOME=%s XDG_CACHE_HOME=%s/c XDG_STATE_HOME=%s/s VCLI_PLUGIN_PATH=%s/spec/support/plugins %s codecs")
      :format(home, home, home, spec.root, spec.vcli))
    os.execute("rm -rf " .. home)
    assert.equal(0, code, out)
    local lines = {}
    for l in out:gmatch("[^\n]+") do table.insert(lines, l) end
    assert.equal('b\tsidecar\t{"n":1}', lines[1])
    assert.matches("^Expected object key string but found invalid token at character 2$", lines[2])
    assert.matches("^broken%.yaml:%d+:%d+: ", lines[3])
  end)
end)
