def hello(): return "web-api"
