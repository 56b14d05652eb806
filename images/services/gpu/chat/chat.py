def reply(prompt): return "hello"
