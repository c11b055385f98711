# One deepviz app process per container; compose.yaml runs several behind nginx (a school).
# Nothing is downloaded at run time: MNIST and the pen digits come from a volume at /data
# (DEEPVIZ_DATA_DIR), the default model is trained once into the shared cache volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    DEEPVIZ_DATA_DIR=/data/mnist \
    DEEPVIZ_CACHE_DIR=/cache

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

# The model cache must be its user's alone (0700), or deepviz keeps nothing there (deepviz/store.py);
# a new volume mounted at /cache takes this folder's owner and mode.
RUN useradd --create-home --uid 10001 deepviz && install -d -m 700 -o deepviz /cache
COPY app.py ./
COPY .streamlit .streamlit
COPY pages pages
COPY deepviz deepviz
USER deepviz

EXPOSE 8501
VOLUME ["/cache"]
# Loading TensorFlow and the default model takes a while on a busy machine.
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() != b'ok')"]
CMD ["python", "-m", "streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501"]
