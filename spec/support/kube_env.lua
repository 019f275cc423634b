-- The running test cluster's settings (`spec/support/kube env`) as a table:
-- KUBECONFIG, VCLI_KUBE_API, VCLI_KUBE_CA, the tokens, ports and PIDs.
-- Used by the specs and by bench/k8s_bench.lua.
return function()
  local t = {}
  local p = io.popen("spec/support/kube env 2>/dev/null")
  for line in p:lines() do
    local k, v = line:match("^([%w_]+)=(.*)$")
    if k then t[k] = v end
  end
  p:close()
  return t
end
