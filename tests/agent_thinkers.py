"""Think functions the agent tests register with the local engine (``DGNB_AGENT_THINK`` / ``think=``)."""
from __future__ import annotations

import json


def weather_think(turn):
    """Calls the client's get_weather for the city the user names, then says what came back."""
    if "weather" not in turn.text.lower():
        return "Ask me about the weather."
    city = "London" if "london" in turn.text.lower() else "Paris"
    data = json.loads(turn.call("get_weather", location=city))
    if "error" in data:
        return f"I could not get the weather for {city}."
    return f"It is {data['conditions']} in {city}."


def two_replies(turn):
    """Answers with two separate assistant messages."""
    return ["Of course!", f"You said {turn.text}"]


def broken_think(turn):
    raise RuntimeError("the model is offline")
