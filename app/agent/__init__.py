"""The Vigil fleet agent: enrols with a claim code, sends heartbeats from the host it runs
on, polls signed commands and runs an allowlist of safe actions (`vigil agent run`), and a
simulator of many devices for demos and load tests (`vigil agent simulate`).

It talks to the server only over HTTP and imports nothing of the server but
`app.agent.protocol`.
"""
